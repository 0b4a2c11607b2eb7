/**
 * Golden-parity runner of @segllm/core: `npm run golden -w @segllm/core -- <kind> <args...>`. Prints one JSON line
 * per compared tensor and a final summary line; exits 1 when a comparison fails, 2 on bad usage.
 * Add a kind by adding an entry to HANDLERS.
 */
import { runHipieLossGolden } from './golden-hipie-loss.ts';

interface Handler {
  usage: string;
  run: (args: string[]) => Promise<boolean>;
}

const HANDLERS: Record<string, Handler> = {
  'hipie-loss': { usage: 'hipie-loss <hipie_loss.safetensors[.gz]> [--backend cpu|cpu-wasm|webgpu] [--case name]...', run: runHipieLossGolden },
};

function usage(): string {
  return 'usage: npm run golden -w @segllm/core -- <kind> <args...>\n' + Object.values(HANDLERS).map((h) => `  ${h.usage}`).join('\n');
}

const [kind, ...args] = process.argv.slice(2);
const handler = kind === undefined ? undefined : HANDLERS[kind];
if (handler === undefined) {
  process.stderr.write(`${kind === undefined ? 'no kind given' : `unknown kind "${kind}"`}\n${usage()}\n`);
  process.exit(2);
}
handler
  .run(args)
  .then((ok) => process.exit(ok ? 0 : 1))
  .catch((e: unknown) => {
    process.stderr.write(`golden ${kind}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n${usage()}\n`);
    process.exit(2);
  });
