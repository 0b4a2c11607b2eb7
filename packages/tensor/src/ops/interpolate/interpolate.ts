/**
 * interpolate (torch.nn.functional.interpolate for 4-D NCHW input, modes 'nearest' and 'bilinear') with backward.
 * Source indices follow PyTorch's CPU kernels exactly, including their float32 arithmetic: with `scaleFactor` the
 * source scale is 1/scaleFactor (not in/out), the output size is floor(in * scaleFactor), and align_corners uses
 * (in-1)/(out-1). 'nearest' is torch's legacy nearest (floor(dst * scale), with the out == in and out == 2*in
 * shortcuts).
 *
 * Kernels (contiguous NCHW, any offset; attrs {mode: 'nearest'|'bilinear', alignCorners: boolean,
 * scales: [sh|null, sw|null]}, where scales are the user's scale factors or null when a size was given):
 * - `interpolate`: [x [N, C, H, W]] -> [y [N, C, Ho, Wo]].
 * - `interpolate_backward`: [gy [N, C, Ho, Wo]] -> [gx [N, C, H, W]].
 */
import type { InterpolateAttrs } from '../../kernels.ts';
import { registerKernel } from '../../kernels.ts';
import type { View } from '../../backend.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { contiguous } from '../copy/copy.ts';
import { run } from '../dispatch.ts';
import { SpatialOptionError, expectNchw } from '../spatial/args.ts';

type F = Float32Array | Float64Array;

export interface InterpolateOptions {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode: 'nearest' | 'bilinear';
  /** Only for 'bilinear' (default false). */
  alignCorners?: boolean;
}

/** For each output index along one dim: the two source indices and their weights (i1 = i0, l1 = 0 for nearest). */
interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float64Array;
  l1: Float64Array;
}

/**
 * torch's source indices along one dim. `fr` rounds like the kernel's accumulation type (Math.fround for float32
 * and the half types, identity for float64); nearest always computes in float32, like torch.
 */
export function interpTaps(mode: string, inSize: number, outSize: number, alignCorners: boolean, scale: number | null, fr: (v: number) => number): Taps {
  const t: Taps = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), l0: new Float64Array(outSize), l1: new Float64Array(outSize) };
  if (mode === 'nearest') {
    const f = Math.fround;
    const s = scale !== null && scale > 0 ? f(1 / scale) : f(inSize / outSize);
    for (let o = 0; o < outSize; o++) {
      let i: number;
      if (outSize === inSize) i = o;
      else if (outSize === 2 * inSize) i = o >> 1;
      else i = Math.min(Math.floor(f(o * s)), inSize - 1);
      t.i0[o] = t.i1[o] = i;
      t.l0[o] = 1;
    }
    return t;
  }
  let s: number;
  if (alignCorners) s = outSize > 1 ? fr((inSize - 1) / (outSize - 1)) : 0;
  else s = scale !== null && scale > 0 ? fr(1 / scale) : fr(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (outSize === inSize) {
      t.i0[o] = t.i1[o] = o;
      t.l0[o] = 1;
      continue;
    }
    let src = alignCorners ? fr(s * o) : fr(fr(s * fr(o + 0.5)) - 0.5);
    if (!alignCorners && src < 0) src = 0;
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = Math.min(Math.max(fr(src - i0), 0), 1);
    t.i0[o] = i0;
    t.i1[o] = i0 < inSize - 1 ? i0 + 1 : i0;
    t.l1[o] = l1;
    t.l0[o] = fr(1 - l1);
  }
  return t;
}

function tapsFor(small: View, big: View, attrs: InterpolateAttrs): [Taps, Taps] {
  // `small` is the input-side view, `big` the output-side one (names only; either may be larger).
  const fr = small.dtype === 'float64' ? (v: number) => v : Math.fround;
  const [sh, sw] = attrs.scales as (number | null)[];
  const mode = attrs.mode as string;
  const ac = attrs.alignCorners;
  return [interpTaps(mode, small.shape[2], big.shape[2], ac, sh, fr), interpTaps(mode, small.shape[3], big.shape[3], ac, sw, fr)];
}

registerKernel(
  'cpu',
  'interpolate',
  ([x], [y], attrs) => {
    const X = arr(x) as F;
    const Y = arr(y) as F;
    const [N, C, H, W] = x.shape;
    const [Ho, Wo] = [y.shape[2], y.shape[3]];
    const [th, tw] = tapsFor(x, y, attrs);
    let o = y.offset;
    for (let pl = 0; pl < N * C; pl++) {
      const base = x.offset + pl * H * W;
      for (let oh = 0; oh < Ho; oh++) {
        const r0 = base + th.i0[oh] * W;
        const r1 = base + th.i1[oh] * W;
        const a0 = th.l0[oh];
        const a1 = th.l1[oh];
        for (let ow = 0; ow < Wo; ow++) {
          const c0 = tw.i0[ow];
          const c1 = tw.i1[ow];
          const b0 = tw.l0[ow];
          const b1 = tw.l1[ow];
          Y[o++] = a0 * (b0 * X[r0 + c0] + b1 * X[r0 + c1]) + a1 * (b0 * X[r1 + c0] + b1 * X[r1 + c1]);
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

// A deliberate adjoint pair with the forward kernel above: the same loops with reads and writes swapped.
registerKernel(
  'cpu',
  'interpolate_backward',
  ([gy], [gx], attrs) => {
    const GY = arr(gy) as F;
    const GX = arr(gx) as F;
    const [N, C, H, W] = gx.shape;
    const [Ho, Wo] = [gy.shape[2], gy.shape[3]];
    const [th, tw] = tapsFor(gx, gy, attrs);
    GX.fill(0, gx.offset, gx.offset + N * C * H * W);
    let o = gy.offset;
    for (let pl = 0; pl < N * C; pl++) {
      const base = gx.offset + pl * H * W;
      for (let oh = 0; oh < Ho; oh++) {
        const r0 = base + th.i0[oh] * W;
        const r1 = base + th.i1[oh] * W;
        const a0 = th.l0[oh];
        const a1 = th.l1[oh];
        for (let ow = 0; ow < Wo; ow++) {
          const g = GY[o++];
          const c0 = tw.i0[ow];
          const c1 = tw.i1[ow];
          const b0 = tw.l0[ow];
          const b1 = tw.l1[ow];
          GX[r0 + c0] += a0 * b0 * g;
          GX[r0 + c1] += a0 * b1 * g;
          GX[r1 + c0] += a1 * b0 * g;
          GX[r1 + c1] += a1 * b1 * g;
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

/** torch.nn.functional.interpolate on NCHW input: exactly one of `size` and `scaleFactor`. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  expectNchw('interpolate', 'input', x);
  const { mode } = opts;
  if (mode !== 'nearest' && mode !== 'bilinear') throw new SpatialOptionError(`interpolate: mode must be 'nearest' or 'bilinear', got '${String(mode)}'`);
  if (mode === 'nearest' && opts.alignCorners !== undefined) {
    throw new SpatialOptionError("interpolate: alignCorners can only be set with mode 'bilinear'; leave it out for 'nearest'");
  }
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new SpatialOptionError('interpolate: give exactly one of size and scaleFactor');
  }
  const [H, W] = [x.shape[2], x.shape[3]];
  let out: [number, number];
  let scales: [number | null, number | null] = [null, null];
  if (opts.size) {
    const s = opts.size;
    if (s.length !== 2 || s.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new SpatialOptionError(`interpolate: size must be two positive integers [h, w], got ${JSON.stringify(s)}`);
    }
    out = [s[0], s[1]];
  } else {
    const sf = opts.scaleFactor!;
    const f = typeof sf === 'number' ? [sf, sf] : sf;
    if (f.length !== 2 || f.some((v) => !(v > 0) || !Number.isFinite(v))) {
      throw new SpatialOptionError(`interpolate: scaleFactor must be a positive number or two of them, got ${JSON.stringify(sf)}`);
    }
    out = [Math.floor(H * f[0]), Math.floor(W * f[1])];
    scales = [f[0], f[1]];
    if (out[0] < 1 || out[1] < 1) throw new ShapeError(`interpolate: scaleFactor ${JSON.stringify(sf)} gives an empty output for input ${fmtShape(x.shape)}`);
  }
  if (H < 1 || W < 1) throw new ShapeError(`interpolate: input ${fmtShape(x.shape)} has an empty spatial dim`);
  const attrs = { mode, alignCorners: opts.alignCorners ?? false, scales };
  const shape = [x.shape[0], x.shape[1], out[0], out[1]];
  const y = noGrad(() => tidy(() => run('interpolate', [contiguous(x)], [{ shape, dtype: x.dtype }], attrs)[0]));
  const xShape = x.shape;
  return record('interpolate', [x], y, (g) => [run('interpolate_backward', [contiguous(g)], [{ shape: xShape, dtype: g.dtype }], attrs)[0]], {
    saveInputs: false,
  });
}
