/**
 * gridSample (torch.nn.functional.grid_sample, 4-D, bilinear; padding 'zeros' or 'border'; align_corners true or
 * false) with gradients for the input and the grid.
 *
 * Kernels (inputs contiguous, any offset; attrs {paddingMode: 'zeros'|'border', alignCorners: boolean}):
 * - `grid_sample`: [x [N, C, H, W], grid [N, Ho, Wo, 2] (x, y in [-1, 1])] -> [y [N, C, Ho, Wo]].
 * - `grid_sample_backward`: [gy [N, C, Ho, Wo], x, grid] -> [gx [N, C, H, W], ggrid [N, Ho, Wo, 2]].
 */
import type { GridSampleAttrs } from '../../kernels.ts';
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { cast, contiguous } from '../copy/copy.ts';
import { run } from '../dispatch.ts';
import { promote } from '../elementwise/elementwise.ts';
import { SpatialOptionError, expectFloat, expectNchw } from '../spatial/args.ts';

type F = Float32Array | Float64Array;

export interface GridSampleOptions {
  mode?: 'bilinear';
  paddingMode?: 'zeros' | 'border';
  alignCorners?: boolean;
}

/**
 * A normalised coordinate in [-1, 1] as a pixel coordinate along a dim of `size`, and d(pixel)/d(coord) (0 where
 * border padding clamps it, torch's rule, which counts the border itself as clamped).
 */
function sourceCoord(coord: number, size: number, alignCorners: boolean, border: boolean, fr: (v: number) => number): [number, number] {
  // torch's CPU kernel: (coord + 1) * s - 0.5 with s = size / 2, or (coord + 1) * s with s = (size - 1) / 2 when
  // aligning corners, in the input's precision; s is also d(pixel)/d(coord).
  const dv = fr(alignCorners ? (size - 1) / 2 : size / 2);
  const v = alignCorners ? fr(fr(coord + 1) * dv) : fr(fr(fr(coord + 1) * dv) - 0.5);
  if (border) {
    if (v <= 0) return [0, 0];
    if (v >= size - 1) return [size - 1, 0];
  }
  return [v, dv];
}

interface Dims {
  N: number;
  C: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
}

function setup(x: { shape: readonly number[]; dtype: string }, grid: { shape: readonly number[] }, attrs: GridSampleAttrs) {
  const d: Dims = { N: x.shape[0], C: x.shape[1], H: x.shape[2], W: x.shape[3], Ho: grid.shape[1], Wo: grid.shape[2] };
  const fr = x.dtype === 'float64' ? (v: number) => v : Math.fround;
  return { d, fr, ac: attrs.alignCorners, border: attrs.paddingMode === 'border' };
}

registerKernel(
  'cpu',
  'grid_sample',
  ([x, grid], [y], attrs) => {
    const X = arr(x) as F;
    const G = arr(grid) as F;
    const Y = arr(y) as F;
    const { d, fr, ac, border } = setup(x, grid, attrs);
    const { N, C, H, W, Ho, Wo } = d;
    const HW = H * W;
    const P = Ho * Wo;
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < P; p++) {
        const gOff = grid.offset + (n * P + p) * 2;
        const [ix] = sourceCoord(G[gOff], W, ac, border, fr);
        const [iy] = sourceCoord(G[gOff + 1], H, ac, border, fr);
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const tx = ix - x0;
        const ty = iy - y0;
        // Corner weights nw, ne, sw, se; a corner outside the input contributes 0.
        const in00 = y0 >= 0 && y0 < H && x0 >= 0 && x0 < W;
        const in01 = y0 >= 0 && y0 < H && x0 + 1 >= 0 && x0 + 1 < W;
        const in10 = y0 + 1 >= 0 && y0 + 1 < H && x0 >= 0 && x0 < W;
        const in11 = y0 + 1 >= 0 && y0 + 1 < H && x0 + 1 >= 0 && x0 + 1 < W;
        const w00 = (1 - tx) * (1 - ty);
        const w01 = tx * (1 - ty);
        const w10 = (1 - tx) * ty;
        const w11 = tx * ty;
        const o00 = y0 * W + x0;
        for (let c = 0; c < C; c++) {
          const base = x.offset + (n * C + c) * HW + o00;
          let v = 0;
          if (in00) v += w00 * X[base];
          if (in01) v += w01 * X[base + 1];
          if (in10) v += w10 * X[base + W];
          if (in11) v += w11 * X[base + W + 1];
          Y[y.offset + (n * C + c) * P + p] = v;
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

// A deliberate adjoint pair with the forward kernel above: the same loops with reads and writes swapped.
registerKernel(
  'cpu',
  'grid_sample_backward',
  ([gy, x, grid], [gx, ggrid], attrs) => {
    const GY = arr(gy) as F;
    const X = arr(x) as F;
    const G = arr(grid) as F;
    const GX = arr(gx) as F;
    const GG = arr(ggrid) as F;
    const { d, fr, ac, border } = setup(x, grid, attrs);
    const { N, C, H, W, Ho, Wo } = d;
    const HW = H * W;
    const P = Ho * Wo;
    GX.fill(0, gx.offset, gx.offset + N * C * HW);
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < P; p++) {
        const gOff = grid.offset + (n * P + p) * 2;
        const [ix, dix] = sourceCoord(G[gOff], W, ac, border, fr);
        const [iy, diy] = sourceCoord(G[gOff + 1], H, ac, border, fr);
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const tx = ix - x0;
        const ty = iy - y0;
        const in00 = y0 >= 0 && y0 < H && x0 >= 0 && x0 < W;
        const in01 = y0 >= 0 && y0 < H && x0 + 1 >= 0 && x0 + 1 < W;
        const in10 = y0 + 1 >= 0 && y0 + 1 < H && x0 >= 0 && x0 < W;
        const in11 = y0 + 1 >= 0 && y0 + 1 < H && x0 + 1 >= 0 && x0 + 1 < W;
        const w00 = (1 - tx) * (1 - ty);
        const w01 = tx * (1 - ty);
        const w10 = (1 - tx) * ty;
        const w11 = tx * ty;
        const o00 = y0 * W + x0;
        let gix = 0;
        let giy = 0;
        for (let c = 0; c < C; c++) {
          const g = GY[gy.offset + (n * C + c) * P + p];
          const xb = x.offset + (n * C + c) * HW + o00;
          const gb = gx.offset + (n * C + c) * HW + o00;
          const v00 = in00 ? X[xb] : 0;
          const v01 = in01 ? X[xb + 1] : 0;
          const v10 = in10 ? X[xb + W] : 0;
          const v11 = in11 ? X[xb + W + 1] : 0;
          if (in00) GX[gb] += w00 * g;
          if (in01) GX[gb + 1] += w01 * g;
          if (in10) GX[gb + W] += w10 * g;
          if (in11) GX[gb + W + 1] += w11 * g;
          gix += g * ((v01 - v00) * (1 - ty) + (v11 - v10) * ty);
          giy += g * ((v10 - v00) * (1 - tx) + (v11 - v01) * tx);
        }
        const o = ggrid.offset + (n * P + p) * 2;
        GG[o] = gix * dix;
        GG[o + 1] = giy * diy;
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

/** torch.nn.functional.grid_sample (4-D, bilinear). grid[..., 0] is x (width), grid[..., 1] is y (height). */
export function gridSample(x: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor {
  expectNchw('gridSample', 'input', x);
  expectFloat('gridSample', 'grid', grid.dtype);
  const mode = opts.mode ?? 'bilinear';
  if (mode !== 'bilinear') throw new SpatialOptionError(`gridSample: only mode 'bilinear' is implemented, got '${String(mode)}'`);
  const paddingMode = opts.paddingMode ?? 'zeros';
  if (paddingMode !== 'zeros' && paddingMode !== 'border') {
    throw new SpatialOptionError(`gridSample: paddingMode must be 'zeros' or 'border', got '${String(paddingMode)}'`);
  }
  if (grid.rank !== 4 || grid.shape[3] !== 2 || grid.shape[0] !== x.shape[0]) {
    throw new ShapeError(`gridSample: grid must be [N, Ho, Wo, 2] with N = ${x.shape[0]} (the input's batch), got ${fmtShape(grid.shape)}`);
  }
  const dtype = promote(x.dtype, grid.dtype);
  const attrs = { paddingMode, alignCorners: opts.alignCorners ?? false };
  const prep = (t: Tensor) => contiguous(t.dtype === dtype ? t : cast(t, dtype));
  const shape = [x.shape[0], x.shape[1], grid.shape[1], grid.shape[2]];
  const y = noGrad(() => tidy(() => run('grid_sample', [prep(x), prep(grid)], [{ shape, dtype }], attrs)[0]));
  return record('grid_sample', [x, grid], y, (g, ctx) => {
    const [xi, gi] = ctx.inputs;
    const [gx, gg] = run('grid_sample_backward', [contiguous(g), prep(xi), prep(gi)], [{ shape: xi.shape, dtype }, { shape: gi.shape, dtype }], attrs);
    return [gx.dtype === xi.dtype ? gx : cast(gx, xi.dtype), gg.dtype === gi.dtype ? gg : cast(gg, gi.dtype)];
  });
}
