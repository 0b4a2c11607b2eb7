/**
 * max_pool2d and avg_pool2d (torch.nn.functional semantics: implicit -inf / zero padding, ceil_mode,
 * count_include_pad, dilation for max pooling) with backward.
 *
 * Kernels (inputs contiguous NCHW, any offset; outputs fresh; attrs {kernel: [kh, kw], stride: [sh, sw],
 * padding: [ph, pw]}, plus dilation [dh, dw] for max and countIncludePad for avg; the output size, which carries
 * ceil_mode, is the output's shape):
 * - `max_pool2d`: [x [N, C, H, W]] -> [y [N, C, Ho, Wo], indices int32 [N, C, Ho, Wo]] (flat h*W + w index of
 *   each window's maximum in its plane: the first maximum, NaN counting as the largest, like torch).
 * - `max_pool2d_backward`: [gy [N, C, Ho, Wo], indices int32 [N, C, Ho, Wo]] -> [gx [N, C, H, W]].
 * - `avg_pool2d`: [x] -> [y]; `avg_pool2d_backward`: [gy] -> [gx].
 */
import type { AvgPoolAttrs, MaxPoolAttrs } from '../../kernels.ts';
import { registerKernel } from '../../kernels.ts';
import type { View } from '../../backend.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { contiguous } from '../copy/copy.ts';
import { run } from '../dispatch.ts';
import { squeeze, unsqueeze } from '../movement/views.ts';
import { SpatialOptionError, expectNchw, pair, poolOutSize } from '../spatial/args.ts';
import type { Pair, Window2d } from '../spatial/args.ts';

type F = Float32Array | Float64Array;

export interface MaxPool2dOptions {
  kernelSize: number | [number, number];
  /** Defaults to kernelSize. */
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: number | [number, number];
  /** Defaults to kernelSize. */
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (torch default true). */
  countIncludePad?: boolean;
}

interface PoolGeom extends Window2d {
  planes: number;
}

function geom(x: View, y: View, attrs: MaxPoolAttrs | AvgPoolAttrs): PoolGeom {
  const [kh, kw] = attrs.kernel as number[];
  const [sh, sw] = attrs.stride as number[];
  const [ph, pw] = attrs.padding as number[];
  const [dh, dw] = (attrs.dilation as number[] | undefined) ?? [1, 1];
  return { planes: x.shape[0] * x.shape[1], H: x.shape[2], W: x.shape[3], Ho: y.shape[2], Wo: y.shape[3], kh, kw, sh, sw, ph, pw, dh, dw };
}

registerKernel(
  'cpu',
  'max_pool2d',
  ([x], [y, idx], attrs) => {
    const X = arr(x);
    const Y = arr(y);
    const I = arr(idx);
    const { planes, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw } = geom(x, y, attrs);
    let o = 0;
    for (let pl = 0; pl < planes; pl++) {
      const base = x.offset + pl * H * W;
      for (let oh = 0; oh < Ho; oh++) {
        // torch's loop bounds: first in-bounds tap, end clipped to the input.
        let h0 = oh * sh - ph;
        const h1 = Math.min(h0 + (kh - 1) * dh + 1, H);
        while (h0 < 0) h0 += dh;
        for (let ow = 0; ow < Wo; ow++, o++) {
          let w0 = ow * sw - pw;
          const w1 = Math.min(w0 + (kw - 1) * dw + 1, W);
          while (w0 < 0) w0 += dw;
          let best = h0 * W + w0;
          let m = -Infinity;
          for (let ih = h0; ih < h1; ih += dh) {
            for (let iw = w0; iw < w1; iw += dw) {
              const v = X[base + ih * W + iw];
              if (v > m || Number.isNaN(v)) {
                m = v;
                best = ih * W + iw;
              }
            }
          }
          Y[y.offset + o] = m;
          I[idx.offset + o] = best;
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

registerKernel(
  'cpu',
  'max_pool2d_backward',
  ([gy, idx], [gx]) => {
    const GY = arr(gy);
    const I = arr(idx);
    const GX = arr(gx);
    const [N, C, H, W] = gx.shape;
    const P = gy.shape[2] * gy.shape[3];
    GX.fill(0, gx.offset, gx.offset + N * C * H * W);
    for (let pl = 0; pl < N * C; pl++) {
      const dst = gx.offset + pl * H * W;
      for (let k = 0; k < P; k++) GX[dst + I[idx.offset + pl * P + k]] += GY[gy.offset + pl * P + k];
    }
  },
  { dtypes: ['float32', 'float64'] },
);

/** Calls f(h0, h1, w0, w1, divisor) for each output window of avg pooling, in row-major order (torch's rule). */
function avgWindows(g: PoolGeom, countIncludePad: boolean, f: (h0: number, h1: number, w0: number, w1: number, div: number) => void): void {
  for (let oh = 0; oh < g.Ho; oh++) {
    let h0 = oh * g.sh - g.ph;
    let h1 = Math.min(h0 + g.kh, g.H + g.ph);
    const hs = h1 - h0;
    h0 = Math.max(h0, 0);
    h1 = Math.min(h1, g.H);
    for (let ow = 0; ow < g.Wo; ow++) {
      let w0 = ow * g.sw - g.pw;
      let w1 = Math.min(w0 + g.kw, g.W + g.pw);
      const ws = w1 - w0;
      w0 = Math.max(w0, 0);
      w1 = Math.min(w1, g.W);
      f(h0, h1, w0, w1, countIncludePad ? hs * ws : (h1 - h0) * (w1 - w0));
    }
  }
}

registerKernel(
  'cpu',
  'avg_pool2d',
  ([x], [y], attrs) => {
    const X = arr(x) as F;
    const Y = arr(y) as F;
    const g = geom(x, y, attrs);
    let o = y.offset;
    for (let pl = 0; pl < g.planes; pl++) {
      const base = x.offset + pl * g.H * g.W;
      avgWindows(g, attrs.countIncludePad, (h0, h1, w0, w1, div) => {
        if (h0 >= h1 || w0 >= w1) {
          Y[o++] = 0;
          return;
        }
        let s = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) s += X[base + ih * g.W + iw];
        Y[o++] = s / div;
      });
    }
  },
  { dtypes: ['float32', 'float64'] },
);

// A deliberate adjoint pair with the forward kernel above: the same loops with reads and writes swapped.
registerKernel(
  'cpu',
  'avg_pool2d_backward',
  ([gy], [gx], attrs) => {
    const GY = arr(gy) as F;
    const GX = arr(gx) as F;
    const g = geom(gx, gy, attrs);
    GX.fill(0, gx.offset, gx.offset + g.planes * g.H * g.W);
    let o = gy.offset;
    for (let pl = 0; pl < g.planes; pl++) {
      const base = gx.offset + pl * g.H * g.W;
      avgWindows(g, attrs.countIncludePad, (h0, h1, w0, w1, div) => {
        const v = GY[o++] / div;
        if (h0 >= h1 || w0 >= w1) return;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) GX[base + ih * g.W + iw] += v;
      });
    }
  },
  { dtypes: ['float32', 'float64'] },
);

interface PoolParams {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  out: Pair;
}

function poolParams(op: string, x: Tensor, o: MaxPool2dOptions): PoolParams {
  expectNchw(op, 'input', x);
  if ((o as Partial<MaxPool2dOptions>).kernelSize === undefined) throw new SpatialOptionError(`${op}: kernelSize is required`);
  const kernel = pair(op, 'kernelSize', o.kernelSize, 1, 1);
  const stride = pair(op, 'stride', o.stride, kernel, 1);
  const padding = pair(op, 'padding', o.padding, 0, 0);
  const dilation = pair(op, 'dilation', o.dilation, 1, 1);
  for (let i = 0; i < 2; i++) {
    if (padding[i] > kernel[i] / 2) {
      throw new SpatialOptionError(`${op}: padding ${padding.join('x')} must be at most half the kernel size ${kernel.join('x')}`);
    }
  }
  const [H, W] = [x.shape[2], x.shape[3]];
  const ceil = o.ceilMode ?? false;
  const out: Pair = [poolOutSize(H, kernel[0], stride[0], padding[0], dilation[0], ceil), poolOutSize(W, kernel[1], stride[1], padding[1], dilation[1], ceil)];
  if (out[0] < 1 || out[1] < 1) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} is too small for kernel ${kernel.join('x')} (padding ${padding.join('x')}, dilation ${dilation.join('x')}): output would be ${out.join('x')}`);
  }
  return { kernel, stride, padding, dilation, out };
}

/** torch.nn.functional.max_pool2d (values only). A 3-D input [C, H, W] is treated as a batch of one. */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  if (x.rank === 3) return tidy(() => squeeze(maxPool2d(unsqueeze(x, 0), opts), 0));
  const p = poolParams('maxPool2d', x, opts);
  const attrs = { kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation };
  const shape = [x.shape[0], x.shape[1], ...p.out];
  const [y, idx] = noGrad(() => tidy(() => run('max_pool2d', [contiguous(x)], [{ shape, dtype: x.dtype }, { shape, dtype: 'int32' }], attrs)));
  if (!x.requiresGrad) {
    idx.dispose();
    return y;
  }
  const xShape = x.shape;
  const out = record(
    'max_pool2d',
    [x],
    y,
    (g, ctx) => [run('max_pool2d_backward', [contiguous(g), ctx.saved[0]], [{ shape: xShape, dtype: g.dtype }], attrs)[0]],
    { saveInputs: false, saved: [idx] },
  );
  idx.dispose();
  return out;
}

/** torch.nn.functional.avg_pool2d. A 3-D input [C, H, W] is treated as a batch of one. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  if (x.rank === 3) return tidy(() => squeeze(avgPool2d(unsqueeze(x, 0), opts), 0));
  const p = poolParams('avgPool2d', x, { ...opts, dilation: 1 });
  const attrs = { kernel: p.kernel, stride: p.stride, padding: p.padding, countIncludePad: opts.countIncludePad ?? true };
  const shape = [x.shape[0], x.shape[1], ...p.out];
  const y = noGrad(() => tidy(() => run('avg_pool2d', [contiguous(x)], [{ shape, dtype: x.dtype }], attrs)[0]));
  const xShape = x.shape;
  return record('avg_pool2d', [x], y, (g) => [run('avg_pool2d_backward', [contiguous(g)], [{ shape: xShape, dtype: g.dtype }], attrs)[0]], {
    saveInputs: false,
  });
}
