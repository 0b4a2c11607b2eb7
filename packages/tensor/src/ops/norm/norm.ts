/**
 * Normalisations: layerNorm, groupNorm, rmsNorm (HF LlamaRMSNorm) and batchNorm (eval mode). LayerNorm, GroupNorm
 * and RMSNorm share one row-wise kernel pair (one GPU workgroup per row); the affine part (weight, bias) is an
 * elementwise composite so its gradients come from the elementwise rules.
 *
 * Kernels (inputs contiguous):
 * - `norm_rows`: inputs [x [R, N]]; attrs {eps: number, rms: boolean}; outputs [y [R, N] (x.dtype), rstd [R]
 *   (float32, float64 for float64 x)]. Per row: layer form (rms false) y = (x - mean) * rstd with
 *   rstd = 1 / sqrt(mean((x - mean)^2) + eps) (biased variance, as torch); rms form y = x * rstd with
 *   rstd = 1 / sqrt(mean(x^2) + eps).
 * - `norm_rows_backward`: inputs [g [R, N], y [R, N] (the normalised forward output), rstd [R]]; attrs {rms};
 *   outputs [dx [R, N]] = rstd * (g - mean(g) - y * mean(g * y)) (layer form) or rstd * (g - y * mean(g * y)) (rms).
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import type { DType } from '../../dtype.ts';
import { isFloat } from '../../dtype.ts';
import { ShapeError, fmtShape, numel, shapesEqual } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { cast } from '../copy/copy.ts';
import { reshape } from '../movement/views.ts';

registerKernel(
  'cpu',
  'norm_rows',
  ([x], [y, rstd], attrs) => {
    const eps = attrs.eps;
    const rms = attrs.rms;
    const xs = arr(x);
    const ys = arr(y);
    const rs = arr(rstd);
    const N = x.shape[1];
    const R = x.shape[0];
    for (let r = 0; r < R; r++) {
      const base = x.offset + r * N;
      let mean = 0;
      if (!rms) {
        for (let i = 0; i < N; i++) mean += xs[base + i];
        mean /= N;
      }
      let ss = 0;
      for (let i = 0; i < N; i++) {
        const d = xs[base + i] - mean;
        ss += d * d;
      }
      const inv = 1 / Math.sqrt(ss / N + eps);
      rs[rstd.offset + r] = inv;
      const yb = y.offset + r * N;
      for (let i = 0; i < N; i++) ys[yb + i] = (xs[base + i] - mean) * inv;
    }
  },
  { dtypes: ['float32', 'float64'] },
);

registerKernel(
  'cpu',
  'norm_rows_backward',
  ([g, y, rstd], [dx], attrs) => {
    const rms = attrs.rms;
    const gs = arr(g);
    const ys = arr(y);
    const rs = arr(rstd);
    const ds = arr(dx);
    const [R, N] = g.shape;
    for (let r = 0; r < R; r++) {
      const gb = g.offset + r * N;
      const yb = y.offset + r * N;
      let mg = 0;
      let mgy = 0;
      for (let i = 0; i < N; i++) {
        mg += gs[gb + i];
        mgy += gs[gb + i] * ys[yb + i];
      }
      mg = rms ? 0 : mg / N;
      mgy /= N;
      const inv = rs[rstd.offset + r];
      const db = dx.offset + r * N;
      for (let i = 0; i < N; i++) ds[db + i] = inv * (gs[gb + i] - mg - ys[yb + i] * mgy);
    }
  },
  { dtypes: ['float32', 'float64'] },
);

export class NormError extends Error {
  override name = 'NormError';
}

const statDtype = (d: DType): DType => (d === 'float64' ? 'float64' : 'float32');

/** Normalises each row of `x` viewed as [R, N] (no affine); differentiable with respect to x. */
function normRows(x: Tensor, rowLen: number, eps: number, rms: boolean): Tensor {
  if (!isFloat(x.dtype)) throw new NormError(`normalisation needs a float tensor, got ${x.dtype}: cast it first (x.toFloat())`);
  const R = rowLen === 0 ? 0 : x.numel / rowLen;
  return tidy(() => {
    const x2 = reshape(x, [R, rowLen]).contiguous();
    const [y, rstd] = run('norm_rows', [x2], [
      { shape: [R, rowLen], dtype: x.dtype },
      { shape: [R], dtype: statDtype(x.dtype) },
    ], { eps, rms });
    const yr = record(
      rms ? 'rms_norm' : 'layer_norm',
      [x2],
      y,
      (g, ctx) => run('norm_rows_backward', [g.contiguous(), ctx.output!, ctx.saved[0]], [{ shape: g.shape, dtype: g.dtype }], { rms }),
      { saveInputs: false, saveOutput: true, saved: [rstd] },
    );
    return reshape(yr, x.shape);
  });
}

function checkParam(p: Tensor | null | undefined, shape: readonly number[], what: string, op: string): void {
  if (p && !shapesEqual(p.shape, shape)) throw new ShapeError(`${op}: ${what} has shape ${fmtShape(p.shape)}, expected ${fmtShape(shape)}`);
}

function affine(y: Tensor, weight: Tensor | null | undefined, bias: Tensor | null | undefined, shape?: readonly number[]): Tensor {
  let out = y;
  if (weight) out = out.mul(shape ? reshape(weight, shape) : weight);
  if (bias) out = out.add(shape ? reshape(bias, shape) : bias);
  return out;
}

/** torch.nn.functional.layer_norm: normalises over the trailing `normalizedShape` dims. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const k = normalizedShape.length;
  if (k === 0 || k > x.rank || !shapesEqual(x.shape.slice(x.rank - k), normalizedShape)) {
    throw new ShapeError(`layerNorm: normalizedShape ${fmtShape(normalizedShape)} must equal the trailing dims of the input ${fmtShape(x.shape)}`);
  }
  checkParam(weight, normalizedShape, 'weight', 'layerNorm');
  checkParam(bias, normalizedShape, 'bias', 'layerNorm');
  return tidy(() => affine(normRows(x, numel(normalizedShape), eps, false), weight, bias));
}

/** torch.nn.functional.group_norm on [N, C, ...] (NCHW): statistics per (sample, group); weight/bias per channel. */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  if (x.rank < 2) throw new ShapeError(`groupNorm: expected an input [N, C, ...], got ${fmtShape(x.shape)}`);
  const C = x.shape[1];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || C % numGroups !== 0) {
    throw new ShapeError(`groupNorm: ${C} channels cannot be split into ${numGroups} groups: numGroups must divide C`);
  }
  checkParam(weight, [C], 'weight', 'groupNorm');
  checkParam(bias, [C], 'bias', 'groupNorm');
  const rowLen = (C / numGroups) * numel(x.shape.slice(2));
  const pshape = [1, C, ...x.shape.slice(2).map(() => 1)];
  return tidy(() => affine(normRows(x, rowLen, eps, false), weight, bias, pshape));
}

/**
 * HF LlamaRMSNorm: computed in float32 (float64 stays float64), x * rsqrt(mean(x^2, -1) + eps), cast back to x's
 * dtype, then times weight (so bfloat16 x with a float32 weight gives float32, as in PyTorch).
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  if (x.rank === 0) throw new ShapeError('rmsNorm: expected at least one dim');
  checkParam(weight, [x.shape[x.rank - 1]], 'weight', 'rmsNorm');
  return tidy(() => {
    const h = cast(x, statDtype(x.dtype));
    const y = cast(normRows(h, x.shape[x.rank - 1], eps, true), x.dtype);
    return weight ? weight.mul(y) : y;
  });
}

/** torch.nn.functional.batch_norm in eval mode (training=False): (x - mean) / sqrt(var + eps) * weight + bias per channel. */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  if (x.rank < 2) throw new ShapeError(`batchNorm: expected an input [N, C, ...], got ${fmtShape(x.shape)}`);
  const C = x.shape[1];
  for (const [p, what] of [[runningMean, 'runningMean'], [runningVar, 'runningVar'], [weight, 'weight'], [bias, 'bias']] as const) {
    checkParam(p, [C], what, 'batchNorm');
  }
  const pshape = [1, C, ...x.shape.slice(2).map(() => 1)];
  return tidy(() => {
    const inv = reshape(runningVar, pshape).add(eps).rsqrt();
    const y = x.sub(reshape(runningMean, pshape)).mul(inv);
    return affine(y, weight, bias, pshape);
  });
}
