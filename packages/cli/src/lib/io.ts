/** Command I/O (injectable for tests) and argument parsing that turns node:util parseArgs failures into usage errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Readable } from 'node:stream';
import { CliUsageError } from './model.ts';
import { progressOn, type Progress } from './progress.ts';

export interface Io {
  out: (this: void, s: string) => void;
  err: (this: void, s: string) => void;
  stdin: Readable;
  /** Progress bars (download, load, image encoding, rounds); absent or quiet when not a terminal. */
  progress?: Progress;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdin: process.stdin,
  progress: progressOn(process.stderr),
};

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `--name value` options (no positionals); unknown options and missing values are CliUsageErrors. */
export function parseOptions<O extends Options>(argv: string[], options: O): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
}

/** A required string option. */
export function required(v: string | undefined, name: string): string {
  if (v === undefined || v === '') throw new CliUsageError(`--${name} is required`);
  return v;
}
