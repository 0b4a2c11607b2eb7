/**
 * The CLI's one argument parser and its usage error: `parseOptions` (node:util parseArgs, strict, no positionals)
 * turns every parse failure into a CliUsageError; `required`, `intOption` and `parseShard` check option values.
 * Commands map a CliUsageError to exit code 2 with their usage text (lib/errors.ts `guard`).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

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

/** An integer option (`dflt` when absent). */
export function intOption(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v)) throw new CliUsageError(`--${name} must be an integer, got "${v}"`);
  return Number(v);
}

/** `--shard i/n` (0 <= i < n) as [i, n]; [0, 1] when absent. */
export function parseShard(s: string | undefined): [number, number] {
  if (s === undefined) return [0, 1];
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new CliUsageError(`--shard must be i/n with 0 <= i < n, got "${s}"`);
  return [Number(m[1]), Number(m[2])];
}
