#!/usr/bin/env node
/** The `segllm` command: finds the longest matching command path and runs it. */
import { createRequire } from 'node:module';
import { commands } from './commands/index.ts';

/** The version of @segllm/cli (its package.json, one folder above src/ and dist/). */
export function cliVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

function usage(): string {
  const lines = commands.map((c) => `  segllm ${c.path.join(' ').padEnd(18)} ${c.summary}`);
  return `usage: segllm <command> [options]\n\n${lines.join('\n')}\n\n  segllm --version        print the version\n  segllm <command> --help  options of a command\n`;
}

export async function main(argv: string[], io = { out: (s: string) => void process.stdout.write(s), err: (s: string) => void process.stderr.write(s) }): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.out(`${cliVersion()}\n`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    (argv.length ? io.out : io.err)(usage());
    return argv.length ? 0 : 2;
  }
  const byLength = [...commands].sort((a, b) => b.path.length - a.path.length);
  const cmd = byLength.find((c) => c.path.every((w, i) => argv[i] === w));
  if (!cmd) {
    const words = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
    io.err(`segllm: unknown command "${words || argv[0]}"\n\n${usage()}`);
    return 2;
  }
  return cmd.run(argv.slice(cmd.path.length));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`segllm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
