#!/usr/bin/env node
/** The `segllm` command: finds the longest matching command path and runs it. */
import { commands } from './commands/index.ts';

export async function main(argv: string[]): Promise<number> {
  const byLength = [...commands].sort((a, b) => b.path.length - a.path.length);
  const cmd = byLength.find((c) => c.path.every((w, i) => argv[i] === w));
  if (!cmd || argv[0] === '--help' || argv[0] === '-h') {
    const lines = commands.map((c) => `  segllm ${c.path.join(' ').padEnd(18)} ${c.summary}`);
    (cmd ? process.stdout : process.stderr).write(`usage: segllm <command> [options]\n\n${lines.join('\n')}\n`);
    return argv[0] === '--help' || argv[0] === '-h' ? 0 : 2;
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
