/** Shared helpers of the golden scripts: file reading (optionally gzipped), error metrics, JSON-line output. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export function readMaybeGzip(path: string): Buffer {
  const bytes = readFileSync(path);
  return path.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b) ? gunzipSync(bytes) : bytes;
}

export interface ErrStats {
  maxAbsErr: number;
  maxRelErr: number;
  /** Elements that differ at all. */
  differing: number;
}

export function errStats(actual: ArrayLike<number>, expected: ArrayLike<number>): ErrStats {
  if (actual.length !== expected.length) throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let differing = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d === 0) continue;
    differing++;
    if (d > maxAbsErr) maxAbsErr = d;
    const r = d / Math.max(Math.abs(expected[i]), 1e-6);
    if (r > maxRelErr) maxRelErr = r;
  }
  return { maxAbsErr, maxRelErr, differing };
}

export function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/**
 * Runs one case of a golden command: an exception is printed as a failed line ({name, pass: false, error}) and
 * returned as false, so that the command goes on with the next case and exits 1 at the end.
 */
export async function runCase(name: string, fn: () => Promise<void> | void): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    emit({ name, pass: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    return false;
  }
}
