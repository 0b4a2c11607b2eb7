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

/** Rank-collapsed layout: size-1 dims dropped, and adjacent dims merged wherever every view steps through them as one. */
export function collapseDims(shape: Shape, strides: readonly Shape[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    if (n === 1) continue;
    const last = outShape.length - 1;
    // Dim d folds into the merged dim inside it when each view's stride on d is that dim's extent in steps.
    if (last >= 0 && strides.every((s, j) => s[d] === outStrides[j][last] * outShape[last])) outShape[last] *= n;
    else {
      outShape.push(n);
      strides.forEach((s, j) => outStrides[j].push(s[d]));
    }
  }
  outShape.reverse();
  for (const s of outStrides) s.reverse();
  return { shape: outShape, strides: outStrides };
}

/**
 * Calls `f(offs, n, steps)` once per innermost row of the collapsed layout (see collapseDims), in row-major order:
 * the row has n elements, view j's start at storage offset offs[j] and advance by steps[j]. Kernels run a tight loop
 * per row instead of a callback per element; contiguous same-shape views give a single row of every element.
 */
export function forEachRow(
  shape: Shape,
  views: readonly { strides: Shape; offset: number }[],
  f: (offs: number[], n: number, steps: number[]) => void,
): void {
  if (numel(shape) === 0) return;
  const k = views.length;
  const c = collapseDims(shape, views.map((v) => v.strides));
  const rank = c.shape.length;
  const offs = views.map((v) => v.offset);
  if (rank === 0) return f(offs, 1, new Array<number>(k).fill(0));
  const n = c.shape[rank - 1];
  const steps = c.strides.map((s) => s[rank - 1]);
  const rows = numel(c.shape) / n;
  const idx = new Array<number>(rank).fill(0);
  for (let r = 0; r < rows; r++) {
    f(offs, n, steps);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) offs[j] += c.strides[j][d];
      if (idx[d] < c.shape[d]) break;
      for (let j = 0; j < k; j++) offs[j] -= c.strides[j][d] * c.shape[d];
      idx[d] = 0;
    }
  }
}
