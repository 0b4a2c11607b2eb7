/**
 * The `npm run golden -w <package> -- <kind> <args...>` dispatcher shared by the packages' golden scripts: picks the
 * handler of `kind`, exits 0 when it reports success, 1 when a comparison failed, 2 on bad usage or an error.
 */
export interface GoldenHandler {
  usage: string;
  run: (args: string[]) => Promise<boolean>;
}

type Exit = (code: number) => never;

export function goldenMain(handlers: Record<string, GoldenHandler>, command: string, argv = process.argv.slice(2), exit: Exit = (c) => process.exit(c)): Promise<void> {
  const usage = `usage: ${command} <kind> <args...>\n` + Object.values(handlers).map((h) => `  ${h.usage}`).join('\n');
  const [kind, ...args] = argv;
  const handler = kind === undefined ? undefined : handlers[kind];
  if (handler === undefined) {
    process.stderr.write(`${kind === undefined ? 'no kind given' : `unknown kind "${kind}"`}\n${usage}\n`);
    return Promise.resolve(exit(2));
  }
  return handler.run(args).then(
    (ok) => exit(ok ? 0 : 1),
    (e: unknown) => {
      process.stderr.write(`golden ${kind}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n${usage}\n`);
      exit(2);
    },
  );
}
