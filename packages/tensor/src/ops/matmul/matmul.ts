/**
 * matmul (torch.matmul semantics: 1-D promotion, broadcast batch dims) and linear. Kernel `matmul` takes A [..., M, K]
 * and B [..., K, N] with equal (already broadcast, possibly stride-0) batch dims and any strides.
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { ShapeError, broadcastShapes, fmtShape, numel } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { cast } from '../copy/copy.ts';
import { expand, reshape, squeeze, transpose, unsqueeze } from '../movement/views.ts';
import { sumTo } from '../reduce/reduce.ts';
import { promote } from '../elementwise/elementwise.ts';
import { tidy } from '../../memory.ts';
import { gemmStrided, type MatView } from './gemm.ts';
import type { F } from './gemm-kernel.ts';

export { gemm, gemmStrided, setGemmGrain, type MatView } from './gemm.ts';
export { cpuThreads, setCpuThreads, poolWorkers, CpuWorkerError } from './pool.ts';

registerKernel(
  'cpu',
  'matmul',
  ([a, b], [y]) => {
    const r = a.shape.length;
    const M = a.shape[r - 2];
    const K = a.shape[r - 1];
    const N = b.shape[r - 1];
    const batchShape = y.shape.slice(0, r - 2);
    const nb = numel(batchShape);
    const as = arr(a) as F;
    const bs = arr(b) as F;
    const ys = arr(y) as F;
    const idx = new Array<number>(batchShape.length).fill(0);
    for (let bi = 0; bi < nb; bi++) {
      let oa = a.offset;
      let ob = b.offset;
      for (let d = 0; d < idx.length; d++) {
        oa += idx[d] * a.strides[d];
        ob += idx[d] * b.strides[d];
      }
      const A: MatView = { data: as, offset: oa, rowStride: a.strides[r - 2], colStride: a.strides[r - 1] };
      const B: MatView = { data: bs, offset: ob, rowStride: b.strides[r - 2], colStride: b.strides[r - 1] };
      gemmStrided(A, B, ys, y.offset + bi * M * N, N, M, K, N);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < batchShape[d]) break;
        idx[d] = 0;
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

/** torch.matmul. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new ShapeError('matmul needs tensors of rank >= 1: use mul for scalars');
  const K = a.shape[a.rank - 1];
  const Kb = b.rank === 1 ? b.shape[0] : b.shape[b.rank - 2];
  if (Kb !== K) throw new ShapeError(`matmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} has mismatched inner dims (${K} vs ${Kb})`);
  const dtype = promote(a.dtype, b.dtype);
  const y = noGrad(() =>
    tidy(() => {
    const a2 = a.rank === 1 ? unsqueeze(a, 0) : a;
    const b2 = b.rank === 1 ? unsqueeze(b, 1) : b;
    const M = a2.shape[a2.rank - 2];
    const N = b2.shape[b2.rank - 1];
    const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const ea = expand(a2.dtype === dtype ? a2 : cast(a2, dtype), [...batch, M, K]);
    const eb = expand(b2.dtype === dtype ? b2 : cast(b2, dtype), [...batch, K, N]);
    let out = run('matmul', [ea, eb], [{ shape: [...batch, M, N], dtype }], {})[0];
    if (a.rank === 1) out = squeeze(out, -2);
    if (b.rank === 1) out = squeeze(out, -1);
    return out;
  }),
  );
  const aShape = a.shape;
  const bShape = b.shape;
  return record('matmul', [a, b], y, (g, ctx) => {
    const [x, w] = ctx.inputs;
    const xa = x.rank === 1 ? unsqueeze(x, 0) : x;
    const wb = w.rank === 1 ? unsqueeze(w, 1) : w;
    let gg = a.rank === 1 ? unsqueeze(g, -2) : g;
    if (b.rank === 1) gg = unsqueeze(gg, -1);
    const ga = a.requiresGrad ? reshape(sumTo(matmul(gg, transpose(wb)), xa.shape), aShape) : null;
    const gb = b.requiresGrad ? reshape(sumTo(matmul(transpose(xa), gg), wb.shape), bShape) : null;
    return [ga, gb];
  });
}

// y = act(x . W^T + b) with PyTorch's Linear layout, bias and activation fused where the backend can (./linear.ts).
export { linear, ACTIVATIONS, ActivationError, type Activation, type LinearOptions } from './linear.ts';
