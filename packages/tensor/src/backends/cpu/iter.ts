/** Strided iteration for CPU kernels: walks the element offsets of several same-shaped views in lockstep. */
import type { View } from '../../backend.ts';
import type { Shape } from '../../shape.ts';
import { isContiguous, numel } from '../../shape.ts';

/**
 * Calls `f(i, offs)` for every element index i in row-major order, with each view's storage offset in offs[j].
 * Fast path when every view is contiguous.
 */
export function forEachOffset(shape: Shape, views: readonly { strides: Shape; offset: number }[], f: (i: number, offs: number[]) => void): void {
  const n = numel(shape);
  const k = views.length;
  const offs = new Array<number>(k);
  if (views.every((v) => isContiguous(shape, v.strides))) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) offs[j] = views[j].offset + i;
      f(i, offs);
    }
    return;
  }
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let j = 0; j < k; j++) offs[j] = views[j].offset;
  for (let i = 0; i < n; i++) {
    f(i, offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) offs[j] += views[j].strides[d];
      if (idx[d] < shape[d]) break;
      for (let j = 0; j < k; j++) offs[j] -= views[j].strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Offsets of every element of a view, in row-major order. */
export function offsetsOf(v: Pick<View, 'shape' | 'strides' | 'offset'>): Int32Array {
  const out = new Int32Array(numel(v.shape));
  forEachOffset(v.shape, [v], (i, o) => (out[i] = o[0]));
  return out;
}
