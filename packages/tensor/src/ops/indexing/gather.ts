/**
 * gather and scatterAdd along a dim (torch.gather / Tensor.scatter_add, out of place).
 *
 * Kernels (inputs contiguous, index int32 with the same rank as x):
 * - `gather`: inputs [x, index]; attrs {dim}; outputs [out (index.shape, x.dtype)]:
 *   out[i0..iR] = x[i0.., index[i0..iR] at dim, ..iR]. Requires index.shape[d] <= x.shape[d] for d != dim.
 * - `scatter_add`: inputs [x, index, src]; attrs {dim}; outputs [out (x.shape, x.dtype)]: out = x, then for every
 *   element of index, out[i0.., index[i] at dim, ..] += src[i] (src is read with its own shape's strides; only the
 *   index's extent of src is used). Duplicated indices accumulate.
 * Out-of-range indices throw IndexOutOfRangeError on the CPU (which validates every index). A GPU kernel cannot throw
 * synchronously: it should read 0 for such an index (gather, index_select) and skip it (scatter_add, index_add).
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import type { View } from '../../backend.ts';
import { record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, contiguousStrides, fmtShape, normDim, numel } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { zeros } from '../../tensor.ts';
import { copyInto } from '../copy/copy.ts';
import { run } from '../dispatch.ts';
import { checkIndex, outOfRange } from './errors.ts';

/** Calls f(indexFlat, xOffsetWithoutDim, srcOffset) for each element of the index view. */
function walk(index: View, xShape: readonly number[], srcShape: readonly number[], dim: number, f: (i: number, xo: number, so: number) => void): void {
  const shape = index.shape;
  const rank = shape.length;
  const xs = contiguousStrides(xShape);
  const ss = contiguousStrides(srcShape);
  const idx = new Array<number>(rank).fill(0);
  const n = numel(shape);
  let xo = 0;
  let so = 0;
  for (let i = 0; i < n; i++) {
    f(i, xo, so);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      if (d !== dim) xo += xs[d];
      so += ss[d];
      if (idx[d] < shape[d]) break;
      if (d !== dim) xo -= xs[d] * shape[d];
      so -= ss[d] * shape[d];
      idx[d] = 0;
    }
  }
}

registerKernel('cpu', 'gather', ([x, index], [out], attrs) => {
  const dim = attrs.dim;
  const xa = arr(x);
  const ia = arr(index);
  const oa = arr(out);
  const size = x.shape[dim];
  const stride = contiguousStrides(x.shape)[dim];
  walk(index, x.shape, index.shape, dim, (i, xo) => {
    const k = ia[index.offset + i];
    if (k < 0 || k >= size) throw outOfRange('gather', k, dim, size);
    oa[out.offset + i] = xa[x.offset + xo + k * stride];
  });
});

registerKernel('cpu', 'scatter_add', ([x, index, src], [out], attrs) => {
  const dim = attrs.dim;
  const oa = arr(out);
  oa.set(arr(x).subarray(x.offset, x.offset + numel(x.shape)), out.offset);
  const ia = arr(index);
  const sa = arr(src);
  const size = x.shape[dim];
  const stride = contiguousStrides(x.shape)[dim];
  walk(index, x.shape, src.shape, dim, (i, xo, so) => {
    const k = ia[index.offset + i];
    if (k < 0 || k >= size) throw outOfRange('scatterAdd', k, dim, size);
    oa[out.offset + xo + k * stride] += sa[src.offset + so];
  });
});

function checkGatherShapes(op: string, x: Tensor, dim: number, index: Tensor, src?: Tensor): void {
  checkIndex(op, index);
  if (index.rank !== x.rank) throw new ShapeError(`${op}: index ${fmtShape(index.shape)} must have the same rank as the input ${fmtShape(x.shape)}`);
  for (let d = 0; d < x.rank; d++) {
    if (d !== dim && index.shape[d] > x.shape[d]) {
      throw new ShapeError(`${op}: index ${fmtShape(index.shape)} is larger than the input ${fmtShape(x.shape)} at dim ${d}`);
    }
    if (src && index.shape[d] > src.shape[d]) throw new ShapeError(`${op}: index ${fmtShape(index.shape)} is larger than src ${fmtShape(src.shape)} at dim ${d}`);
  }
  if (src && src.rank !== x.rank) throw new ShapeError(`${op}: src ${fmtShape(src.shape)} must have the same rank as the input ${fmtShape(x.shape)}`);
}

/** torch.gather(x, dim, index): out[i][j] = x[index[i][j]][j] (dim 0), etc. Gradient: scatter-add into x. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.rank);
  checkGatherShapes('gather', x, d, index);
  const xShape = x.shape;
  return tidy(() => {
    const xc = x.contiguous();
    const ic = index.contiguous();
    const [out] = run('gather', [xc, ic], [{ shape: index.shape, dtype: x.dtype }], { dim: d });
    return record(
      'gather',
      [xc],
      out,
      (g, ctx) => {
        const z = zeros(xShape, { dtype: g.dtype, backend: g.backend });
        return run('scatter_add', [z, ctx.saved[0], g.contiguous()], [{ shape: xShape, dtype: g.dtype }], { dim: d });
      },
      { saveInputs: false, saved: [ic] },
    );
  });
}

/**
 * Out-of-place torch.scatter_add(x, dim, index, src): a copy of x with src[i] added at index[i] along dim.
 * Gradients: x gets g; src gets gather(g, dim, index) (zero outside the index's extent).
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normDim(dim, x.rank);
  checkGatherShapes('scatterAdd', x, d, index, src);
  if (src.dtype !== x.dtype) throw new ShapeError(`scatterAdd: src dtype ${src.dtype} must match the input's ${x.dtype}`);
  const srcShape = src.shape;
  return tidy(() => {
    const xc = x.contiguous();
    const ic = index.contiguous();
    const sc = src.contiguous();
    const [out] = run('scatter_add', [xc, ic, sc], [{ shape: x.shape, dtype: x.dtype }], { dim: d });
    return record(
      'scatter_add',
      [xc, sc],
      out,
      (g, ctx) => {
        const gc = g.contiguous();
        let gs = run('gather', [gc, ctx.saved[0]], [{ shape: ctx.saved[0].shape, dtype: g.dtype }], { dim: d })[0];
        if (gs.shape.some((s, i) => s !== srcShape[i])) {
          // src is larger than index: the untouched part gets zero gradient.
          const z = zeros(srcShape, { dtype: g.dtype, backend: g.backend });
          gs = padTo(gs, z);
        }
        return [gc, gs];
      },
      { saveInputs: false, saved: [ic] },
    );
  });
}

/** Writes `part` (smaller) into the leading corner of `z` (zeros) and returns z. */
function padTo(part: Tensor, z: Tensor): Tensor {
  let view = z;
  part.shape.forEach((s, d) => (view = view.narrow(d, 0, s)));
  copyInto(view, part);
  return z;
}
