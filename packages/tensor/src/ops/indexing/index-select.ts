/**
 * indexSelect (torch.index_select) and embedding (F.embedding), whose gradient scatter-adds rows back.
 *
 * Kernels (inputs contiguous; x viewed as [pre, S, post] around `dim`; index int32 [K]):
 * - `index_select`: inputs [x, index]; attrs {dim}; outputs [out [pre, K, post] (x.dtype)]: out[p, k, q] = x[p, index[k], q].
 * - `index_add`: inputs [x, index, src [pre, K, post]]; attrs {dim}; outputs [out (x.shape)]: out = x, then
 *   out[p, index[k], q] += src[p, k, q] (duplicates accumulate).
 * Out-of-range indices throw IndexOutOfRangeError on the CPU (which validates every index). A GPU kernel cannot throw
 * synchronously: it should read 0 for such an index (gather, index_select) and skip it (scatter_add, index_add).
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import type { View } from '../../backend.ts';
import { record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape, normDim, numel } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { zeros } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { reshape } from '../movement/views.ts';
import { checkIndex, outOfRange } from './errors.ts';

function split3(x: View, dim: number): [number, number, number] {
  return [numel(x.shape.slice(0, dim)), x.shape[dim], numel(x.shape.slice(dim + 1))];
}

registerKernel('cpu', 'index_select', ([x, index], [out], attrs) => {
  const dim = attrs.dim;
  const [pre, S, post] = split3(x, dim);
  const K = index.shape[0];
  const xa = arr(x);
  const ia = arr(index);
  const oa = arr(out);
  for (let k = 0; k < K; k++) {
    const s = ia[index.offset + k];
    if (s < 0 || s >= S) throw outOfRange(attrs.op === 'embedding' ? 'embedding' : 'indexSelect', s, dim, S);
  }
  for (let p = 0; p < pre; p++) {
    for (let k = 0; k < K; k++) {
      const src = x.offset + (p * S + ia[index.offset + k]) * post;
      const dst = out.offset + (p * K + k) * post;
      for (let q = 0; q < post; q++) oa[dst + q] = xa[src + q];
    }
  }
});

registerKernel('cpu', 'index_add', ([x, index, src], [out], attrs) => {
  const dim = attrs.dim;
  const [pre, S, post] = split3(x, dim);
  const K = index.shape[0];
  const oa = arr(out);
  oa.set(arr(x).subarray(x.offset, x.offset + pre * S * post), out.offset);
  const ia = arr(index);
  const sa = arr(src);
  for (let p = 0; p < pre; p++) {
    for (let k = 0; k < K; k++) {
      const s = ia[index.offset + k];
      if (s < 0 || s >= S) throw outOfRange('indexAdd', s, dim, S);
      const dst = out.offset + (p * S + s) * post;
      const from = src.offset + (p * K + k) * post;
      for (let q = 0; q < post; q++) oa[dst + q] += sa[from + q];
    }
  }
});

function select(x: Tensor, d: number, index: Tensor, op: string): Tensor {
  const outShape = [...x.shape];
  outShape[d] = index.shape[0];
  const xShape = x.shape;
  return tidy(() => {
    const xc = x.contiguous();
    const ic = index.contiguous();
    const [out] = run('index_select', [xc, ic], [{ shape: outShape, dtype: x.dtype }], { dim: d, op });
    return record(
      op,
      [xc],
      out,
      (g, ctx) => {
        const z = zeros(xShape, { dtype: g.dtype, backend: g.backend });
        return run('index_add', [z, ctx.saved[0], g.contiguous()], [{ shape: xShape, dtype: g.dtype }], { dim: d });
      },
      { saveInputs: false, saved: [ic] },
    );
  });
}

/** torch.index_select(x, dim, index) with a 1-d int32 index. Gradient: index-add back into x. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('indexSelect', index);
  if (index.rank !== 1) throw new ShapeError(`indexSelect: index must be 1-d, got ${fmtShape(index.shape)}: flatten it first`);
  return select(x, normDim(dim, x.rank), index, 'index_select');
}

/**
 * F.embedding(ids, weight): rows of weight [V, D] picked by int32 ids of any shape, giving [...ids.shape, D].
 * Gradient: the rows of g scatter-added into weight's rows (repeated ids accumulate).
 */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  checkIndex('embedding', ids);
  if (weight.rank !== 2) throw new ShapeError(`embedding: weight must be [V, D], got ${fmtShape(weight.shape)}`);
  return tidy(() => {
    const flat = reshape(ids, [-1]);
    return reshape(select(weight, 0, flat, 'embedding'), [...ids.shape, weight.shape[1]]);
  });
}
