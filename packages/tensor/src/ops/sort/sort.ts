/**
 * sort, argsort and topk along a dim. Both sorts are stable: equal values keep their original order, so ties come
 * lower index first in ascending and descending order alike, and topk returns, among tied values, the lower
 * indices first (torch leaves topk's tie order unspecified). NaN counts as larger than every number (as in torch):
 * last in ascending order, first in descending order and in topk(largest).
 *
 * Kernel `sort`: inputs [x [R, N] contiguous]; attrs {descending: boolean, k: number (<= N)}; outputs
 * [values [R, k] (x.dtype), indices [R, k] int32]: the first k of each row in sorted order (stable).
 * Gradient of values: g scattered back to the source positions (scatter_add along the dim).
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, normDim, numel } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { zeros } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { reshape, transpose } from '../movement/views.ts';

registerKernel('cpu', 'sort', ([x], [values, indices], attrs) => {
  const desc = attrs.descending;
  const k = attrs.k;
  const [R, N] = x.shape;
  const xa = arr(x);
  const va = arr(values);
  const ia = arr(indices);
  const order = new Array<number>(N);
  const row = new Float64Array(N);
  // Ascending by value with NaN last; descending is the reverse comparison (NaN first). Array.sort is stable.
  const cmp = desc
    ? (a: number, b: number) => (Number.isNaN(row[a]) ? (Number.isNaN(row[b]) ? 0 : -1) : Number.isNaN(row[b]) ? 1 : row[b] - row[a])
    : (a: number, b: number) => (Number.isNaN(row[a]) ? (Number.isNaN(row[b]) ? 0 : 1) : Number.isNaN(row[b]) ? -1 : row[a] - row[b]);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < N; i++) {
      row[i] = xa[x.offset + r * N + i];
      order[i] = i;
    }
    // Equal infinities subtract to NaN: treat that as a tie.
    order.sort((a, b) => cmp(a, b) || 0);
    for (let j = 0; j < k; j++) {
      va[values.offset + r * k + j] = row[order[j]];
      ia[indices.offset + r * k + j] = order[j];
    }
  }
});

export interface SortResult {
  values: Tensor;
  /** int32 positions along the dim. */
  indices: Tensor;
}

/** Sorts along the normalised dim `dim`, keeping the first k. */
function sortAlong(x: Tensor, dim: number, descending: boolean, k: number, op: string): SortResult {
  const d = dim;
  const N = x.shape[d];
  const xShape = x.shape;
  return tidy(() => {
    const moved = transpose(x, d, -1);
    const lead = moved.shape.slice(0, -1);
    const R = numel(lead);
    const x2 = reshape(moved, [R, N]).contiguous();
    const [v, i] = run('sort', [x2], [
      { shape: [R, k], dtype: x.dtype },
      { shape: [R, k], dtype: 'int32' },
    ], { descending, k });
    const values = transpose(reshape(v, [...lead, k]), d, -1);
    const indices = transpose(reshape(i, [...lead, k]), d, -1).contiguous();
    const out = values.contiguous();
    const rec = record(
      op,
      [x],
      out,
      (g, ctx) => {
        const z = zeros(xShape, { dtype: g.dtype, backend: g.backend });
        return run('scatter_add', [z, ctx.saved[0], g.contiguous()], [{ shape: xShape, dtype: g.dtype }], { dim: d });
      },
      { saveInputs: false, saved: [indices] },
    );
    return { values: rec, indices };
  });
}

function sortScalar(x: Tensor): SortResult {
  return tidy(() => {
    const values = x.clone();
    return { values, indices: zeros([], { dtype: 'int32', backend: x.backend }) };
  });
}

/** torch.sort(x, dim, descending, stable=True) -> {values, indices}. */
export function sort(x: Tensor, dim = -1, descending = false): SortResult {
  if (x.rank === 0) return sortScalar(x);
  const d = normDim(dim, x.rank);
  return sortAlong(x, d, descending, x.shape[d], 'sort');
}

/** torch.argsort(x, dim, descending, stable=True): int32 indices. */
export function argsort(x: Tensor, dim = -1, descending = false): Tensor {
  return tidy(() => sort(x, dim, descending).indices);
}

/** torch.topk(x, k, dim, largest, sorted) -> {values, indices}; ties: lower index first. Always returned sorted. */
export function topk(x: Tensor, k: number, dim = -1, largest = true, sorted = true): SortResult {
  void sorted; // results are always sorted, which satisfies sorted=false too
  if (x.rank === 0) {
    if (k !== 0 && k !== 1) throw new ShapeError(`topk: k=${k} is out of range for a 0-d tensor`);
    return sortScalar(x);
  }
  const d = normDim(dim, x.rank);
  if (!Number.isInteger(k) || k < 0 || k > x.shape[d]) throw new ShapeError(`topk: k=${k} must lie in [0, ${x.shape[d]}] (the size of dim ${dim})`);
  return sortAlong(x, d, largest, k, 'topk');
}
