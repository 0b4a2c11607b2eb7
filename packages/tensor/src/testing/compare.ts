/** Numeric comparison helpers for parity tests (used by every package's tests and golden scripts). */
import type { Tensor } from '../tensor.ts';
import { fmtShape, shapesEqual } from '../shape.ts';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

export interface CompareResult {
  maxAbsErr: number;
  maxRelErr: number;
  /** Elements outside atol + rtol * |expected|. */
  bad: number;
  ok: boolean;
  worst: { index: number; actual: number; expected: number };
}

/** Compares two arrays elementwise with |a - e| <= atol + rtol * |e|; NaNs must match. */
export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}): CompareResult {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  if (actual.length !== expected.length) throw new RangeError(`length ${actual.length} vs expected ${expected.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let worst = { index: -1, actual: NaN, expected: NaN };
  let worstScore = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) bad++;
      continue;
    }
    if (a === e) continue;
    const abs = Math.abs(a - e);
    const rel = abs / Math.max(Math.abs(e), 1e-12);
    if (abs > maxAbs) maxAbs = abs;
    if (rel > maxRel && Math.abs(e) > atol) maxRel = rel;
    const score = abs / (atol + rtol * Math.abs(e));
    if (score > 1) bad++;
    if (score > worstScore) {
      worstScore = score;
      worst = { index: i, actual: a, expected: e };
    }
  }
  return { maxAbsErr: maxAbs, maxRelErr: maxRel, bad, ok: bad === 0, worst };
}

export class ParityError extends Error {
  override name = 'ParityError';
}

/** Reads both tensors and throws a ParityError naming the worst element when they differ beyond the tolerance. */
export async function assertClose(actual: Tensor, expected: Tensor | ArrayLike<number>, tol: Tolerance = {}, label = 'tensor'): Promise<CompareResult> {
  let exp: ArrayLike<number>;
  if ('shape' in expected && 'data' in expected && typeof (expected).data === 'function') {
    const e = expected;
    if (!shapesEqual(actual.shape, e.shape)) throw new ParityError(`${label}: shape ${fmtShape(actual.shape)} vs expected ${fmtShape(e.shape)}`);
    exp = await e.data();
  } else exp = expected as ArrayLike<number>;
  const r = compareArrays(await actual.data(), exp, tol);
  if (!r.ok) {
    throw new ParityError(
      `${label}: ${r.bad} of ${actual.numel} elements differ (max abs ${r.maxAbsErr.toExponential(3)}, max rel ${r.maxRelErr.toExponential(3)}; ` +
        `worst at ${r.worst.index}: ${r.worst.actual} vs ${r.worst.expected}; rtol ${tol.rtol ?? 1e-5}, atol ${tol.atol ?? 1e-6})`,
    );
  }
  return r;
}
