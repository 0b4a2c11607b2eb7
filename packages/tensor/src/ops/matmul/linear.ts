/**
 * linear(x, W, b?, { activation }) = act(x . W^T + b), PyTorch's Linear layout (W [out, in], b [out]), with the
 * bias and activation fused into the GEMM's epilogue where the backend has the kernel.
 *
 * Kernel `matmul_bias_act`: inputs [A [..., M, K], B [..., K, N], (bias [N])]: A and B as for `matmul` (batch dims
 * already broadcast, stride 0 allowed, any strides), bias contiguous; attrs {activation: 'none' | 'relu' | 'gelu' |
 * 'gelu_tanh' | 'quick_gelu' | 'silu'} (the forms of ops/elementwise/table.ts); outputs [Y [..., M, N]] =
 * act(A . B + bias), the bias added and the activation applied to the accumulated value, rounded once to the output
 * dtype. The CPU computes the matmul, then bias and activation per element; WebGPU in every GEMM tier's stores.
 * Backends without it (cpu-wasm), and shapes it does not take, run the unfused composition (matmul, add, unary).
 * Backward is the unfused rule: the pre-activation is recomputed, then the activation's VJP and two matmuls.
 */
import { registerKernel, getKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { ShapeError, fmtShape, numel } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { isFloat } from '../../dtype.ts';
import { backendOf, run } from '../dispatch.ts';
import { expand, reshape, transpose } from '../movement/views.ts';
import { sumTo } from '../reduce/reduce.ts';
import { unary } from '../elementwise/elementwise.ts';
import { UNARY, type UnaryRow } from '../elementwise/table.ts';
import { tidy } from '../../memory.ts';
import { matmul } from './matmul.ts';
import type { F } from './gemm-kernel.ts';

export const ACTIVATIONS = ['none', 'relu', 'gelu', 'gelu_tanh', 'quick_gelu', 'silu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface LinearOptions {
  /** Applied after the bias (default 'none'). */
  activation?: Activation;
}

export class ActivationError extends Error {
  override name = 'ActivationError';
}

registerKernel(
  'cpu',
  'matmul_bias_act',
  ([a, b, bias], [y], attrs) => {
    getKernel('cpu', 'matmul')!.fn([a, b], [y], {});
    const act = attrs.activation;
    const f = act === 'none' ? null : (UNARY[act] as UnaryRow).cpu;
    const ys = arr(y) as F;
    const bs = bias ? (arr(bias) as F) : null;
    const N = y.shape[y.shape.length - 1];
    const n = numel(y.shape);
    const o = y.offset;
    const ob = bias ? bias.offset : 0;
    for (let i = 0; i < n; i++) {
      const v = bs ? ys[o + i] + bs[ob + (i % N)] : ys[o + i];
      ys[o + i] = f ? f(v, 0, 0) : v;
    }
  },
  { dtypes: ['float32', 'float64'] },
);

/** y = act(x . W^T + b) with PyTorch's Linear layout (W is [out, in]). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: LinearOptions = {}): Tensor {
  const act = opts.activation ?? 'none';
  if (!(ACTIVATIONS as readonly string[]).includes(act)) {
    throw new ActivationError(`linear: unknown activation '${String(act)}'; use one of ${ACTIVATIONS.join(', ')}`);
  }
  const ins = bias ? [x, weight, bias] : [x, weight];
  const fused =
    (bias || act !== 'none') &&
    x.rank >= 2 &&
    weight.rank === 2 &&
    (!bias || (bias.rank === 1 && bias.shape[0] === weight.shape[0])) &&
    isFloat(x.dtype) &&
    ins.every((t) => t.dtype === x.dtype) &&
    backendOf(ins).supports('matmul_bias_act', x.dtype);
  if (!fused) {
    return tidy(() => {
      const y = matmul(x, transpose(weight));
      const z = bias ? y.add(bias) : y;
      return act === 'none' ? z : unary(act, z);
    });
  }
  const [N, K] = weight.shape;
  if (x.shape[x.rank - 1] !== K) throw new ShapeError(`linear: input ${fmtShape(x.shape)} does not match weight ${fmtShape(weight.shape)} (in features ${K})`);
  const batch = x.shape.slice(0, -2);
  const outShape = [...x.shape.slice(0, -1), N];
  const y = noGrad(() =>
    tidy(() => {
      const b = expand(transpose(weight), [...batch, K, N]); // [..., K, N]
      return run('matmul_bias_act', bias ? [x, b, bias.contiguous()] : [x, b], [{ shape: outShape, dtype: x.dtype }], { activation: act })[0];
    }),
  );
  return record(
    'linear',
    ins,
    y,
    (g, ctx) => {
      const [xs, ws, bs] = ctx.inputs;
      let gz = g; // [..., M, N], the gradient of the pre-activation
      if (act !== 'none') {
        const z0 = matmul(xs, transpose(ws));
        const z = bs ? z0.add(bs) : z0;
        gz = (UNARY[act] as UnaryRow).vjp!(g, z, ctx.output!, 0, 0);
      }
      const gx = x.requiresGrad ? matmul(gz, ws) : null;
      const gw = weight.requiresGrad ? matmul(transpose(reshape(gz, [-1, N])), reshape(xs, [-1, K])) : null;
      const gb = bias?.requiresGrad ? sumTo(gz, [N]) : null;
      return bias ? [gx, gw, gb] : [gx, gw];
    },
    { saveOutput: act !== 'none' },
  );
}
