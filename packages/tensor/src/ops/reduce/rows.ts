/**
 * Row loops of the CPU reduce kernel, one call per innermost row of backends/cpu/iter.ts forEachRow: element i of
 * the row is x[ox + i*sx] and folds into the float64 accumulator acc[ok + i*sk] (sk = 0 when the row runs along a
 * reduced dim). Each accumulator sees its elements in row-major order, as an element-by-element walk would.
 */
import type { StorageArray } from '../../dtype.ts';

export function sumRow(xs: StorageArray, ox: number, sx: number, acc: Float64Array, ok: number, sk: number, n: number): void {
  if (sk === 0) {
    let s = acc[ok];
    for (let i = 0; i < n; i++) s += xs[ox + i * sx];
    acc[ok] = s;
  } else for (let i = 0; i < n; i++) acc[ok + i * sk] += xs[ox + i * sx];
}

/** prod, max and min (NaN wins max/min, as torch's amax/amin). */
export function extremeRow(op: string, xs: StorageArray, ox: number, sx: number, acc: Float64Array, ok: number, sk: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = xs[ox + i * sx];
    const k = ok + i * sk;
    if (op === 'prod') acc[k] *= v;
    else if (op === 'max' ? v > acc[k] || Number.isNaN(v) : v < acc[k] || Number.isNaN(v)) acc[k] = v;
  }
}

/** argmax/argmin: the first extremum (a NaN counts as one), its index along the reduced dims in best[k]. */
export function argRow(
  isMax: boolean,
  xs: StorageArray,
  ox: number,
  sx: number,
  acc: Float64Array,
  best: Int32Array,
  ok: number,
  sk: number,
  oi: number,
  si: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const v = xs[ox + i * sx];
    const k = ok + i * sk;
    if (best[k] < 0 || (isMax ? v > acc[k] : v < acc[k]) || (Number.isNaN(v) && !Number.isNaN(acc[k]))) {
      acc[k] = v;
      best[k] = oi + i * si;
    }
  }
}
