/**
 * cumsum along a dim (torch.cumsum). Integer and bool inputs give int32 (torch gives int64).
 *
 * Kernel `cumsum`: inputs [x contiguous]; attrs {dim, reverse: boolean}; outputs [y (x.shape)]:
 * y[.., i, ..] = sum of x[.., j, ..] for j <= i (j >= i when reverse). Accumulates in float64 on the CPU.
 * Gradient: the reverse cumsum of g.
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { isFloat } from '../../dtype.ts';
import { normDim, numel } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { reshape } from '../movement/views.ts';

registerKernel('cpu', 'cumsum', ([x], [y], attrs) => {
  const dim = attrs.dim;
  const reverse = attrs.reverse;
  const pre = numel(x.shape.slice(0, dim));
  const S = x.shape[dim];
  const post = numel(x.shape.slice(dim + 1));
  const xa = arr(x);
  const ya = arr(y);
  const acc = new Float64Array(post);
  for (let p = 0; p < pre; p++) {
    acc.fill(0);
    for (let t = 0; t < S; t++) {
      const s = reverse ? S - 1 - t : t;
      const base = (p * S + s) * post;
      for (let q = 0; q < post; q++) {
        acc[q] += xa[x.offset + base + q];
        ya[y.offset + base + q] = acc[q];
      }
    }
  }
});

function cumsumRaw(x: Tensor, d: number, reverse: boolean): Tensor {
  return tidy(() => {
    const xc = x.contiguous();
    return run('cumsum', [xc], [{ shape: x.shape, dtype: isFloat(x.dtype) ? x.dtype : 'int32' }], { dim: d, reverse })[0];
  });
}

/** torch.cumsum(x, dim); a 0-d input is treated as [1]. */
export function cumsum(x: Tensor, dim: number): Tensor {
  if (x.rank === 0) return tidy(() => reshape(cumsum(reshape(x, [1]), 0), []));
  const d = normDim(dim, x.rank);
  const y = cumsumRaw(x, d, false);
  if (!isFloat(x.dtype)) return y;
  return record('cumsum', [x], y, (g) => [cumsumRaw(g, d, true)], { saveInputs: false });
}
