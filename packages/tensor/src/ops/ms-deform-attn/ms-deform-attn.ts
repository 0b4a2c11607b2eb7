/**
 * Multi-scale deformable attention (Deformable DETR), as one kernel: for each query and head, the attention-weighted
 * sum over levels and points of the head's value map sampled bilinearly at the point's location. It matches the
 * PyTorch reference formulation (`ms_deform_attn_core_pytorch`): grid_sample bilinear with zero padding and
 * align_corners=False at grid = 2 * loc - 1, i.e. pixel coordinate loc * size - 0.5.
 *
 * Kernels (inputs contiguous, any offset; attrs {shapes: [h, w][], starts: number[]} with starts[l] the first row
 * of level l in S):
 * - `ms_deform_attn`: [value [N, S, M, D], loc [N, Lq, M, L, P, 2] (x, y in [0, 1]), attw [N, Lq, M, L, P]]
 *   -> [out [N, Lq, M*D]].
 * - `ms_deform_attn_backward`: [gout [N, Lq, M*D], value, loc, attw] -> [gvalue, gloc, gattw] (shapes as inputs).
 */
import type { MsDeformAttrs } from '../../kernels.ts';
import { registerKernel } from '../../kernels.ts';
import type { View } from '../../backend.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape, shapesEqual } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { cast, contiguous } from '../copy/copy.ts';
import { run } from '../dispatch.ts';
import { promote } from '../elementwise/elementwise.ts';
import { SpatialOptionError, expectFloat } from '../spatial/args.ts';

type F = Float32Array | Float64Array;

/** One bilinear sample: the four corner rows (-1 when outside the map) and their weights. */
interface Sample {
  rows: Int32Array;
  w: Float64Array;
  /** Fractional offsets inside the cell (for the location gradient). */
  tx: number;
  ty: number;
}

/** The bilinear corners of pixel coordinate (ix, iy) = loc * size - 0.5 on an h x w map, torch's float32 arithmetic. */
function corners(lx: number, ly: number, h: number, w: number, fr: (v: number) => number, s: Sample): boolean {
  // grid = 2 * loc - 1, then grid_sample's (grid + 1) * (size / 2) - 0.5 (torch's CPU kernel).
  const ix = fr(fr(fr(fr(fr(2 * lx) - 1) + 1) * fr(w / 2)) - 0.5);
  const iy = fr(fr(fr(fr(fr(2 * ly) - 1) + 1) * fr(h / 2)) - 0.5);
  const x0 = Math.floor(ix);
  const y0 = Math.floor(iy);
  const tx = ix - x0;
  const ty = iy - y0;
  s.tx = tx;
  s.ty = ty;
  if (!(x0 >= -1 && x0 < w && y0 >= -1 && y0 < h)) return false;
  s.w[0] = (1 - tx) * (1 - ty);
  s.w[1] = tx * (1 - ty);
  s.w[2] = (1 - tx) * ty;
  s.w[3] = tx * ty;
  const left = x0 >= 0;
  const right = x0 + 1 < w;
  const top = y0 >= 0;
  const bottom = y0 + 1 < h;
  const r0 = y0 * w + x0;
  s.rows[0] = top && left ? r0 : -1;
  s.rows[1] = top && right ? r0 + 1 : -1;
  s.rows[2] = bottom && left ? r0 + w : -1;
  s.rows[3] = bottom && right ? r0 + w + 1 : -1;
  return true;
}

function dimsOf(value: View, loc: View, attrs: MsDeformAttrs) {
  const [N, S, M, D] = value.shape;
  const [, Lq, , L, P] = loc.shape;
  const shapes = attrs.shapes as [number, number][];
  const starts = attrs.starts as number[];
  const fr = value.dtype === 'float64' ? (v: number) => v : Math.fround;
  return { N, S, M, D, Lq, L, P, shapes, starts, fr };
}

registerKernel(
  'cpu',
  'ms_deform_attn',
  ([value, loc, attw], [out], attrs) => {
    const V = arr(value) as F;
    const LO = arr(loc) as F;
    const AW = arr(attw) as F;
    const O = arr(out) as F;
    const { N, S, M, D, Lq, L, P, shapes, starts, fr } = dimsOf(value, loc, attrs);
    const s: Sample = { rows: new Int32Array(4), w: new Float64Array(4), tx: 0, ty: 0 };
    const acc = new Float64Array(D);
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < Lq; q++) {
        for (let m = 0; m < M; m++) {
          acc.fill(0);
          const qm = (n * Lq + q) * M + m;
          for (let l = 0; l < L; l++) {
            const [h, w] = shapes[l];
            for (let p = 0; p < P; p++) {
              const k = (qm * L + l) * P + p;
              const a = AW[attw.offset + k];
              if (!corners(LO[loc.offset + 2 * k], LO[loc.offset + 2 * k + 1], h, w, fr, s)) continue;
              for (let c = 0; c < 4; c++) {
                if (s.rows[c] < 0) continue;
                const cw = a * s.w[c];
                const vb = value.offset + ((n * S + starts[l] + s.rows[c]) * M + m) * D;
                for (let d = 0; d < D; d++) acc[d] += cw * V[vb + d];
              }
            }
          }
          const ob = out.offset + qm * D;
          for (let d = 0; d < D; d++) O[ob + d] = acc[d];
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

registerKernel(
  'cpu',
  'ms_deform_attn_backward',
  ([gout, value, loc, attw], [gv, gl, ga], attrs) => {
    const GO = arr(gout) as F;
    const V = arr(value) as F;
    const LO = arr(loc) as F;
    const AW = arr(attw) as F;
    const GV = arr(gv) as F;
    const GL = arr(gl) as F;
    const GA = arr(ga) as F;
    const { N, S, M, D, Lq, L, P, shapes, starts, fr } = dimsOf(value, loc, attrs);
    GV.fill(0, gv.offset, gv.offset + N * S * M * D);
    const s: Sample = { rows: new Int32Array(4), w: new Float64Array(4), tx: 0, ty: 0 };
    const dots = new Float64Array(4);
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < Lq; q++) {
        for (let m = 0; m < M; m++) {
          const qm = (n * Lq + q) * M + m;
          const gb = gout.offset + qm * D;
          for (let l = 0; l < L; l++) {
            const [h, w] = shapes[l];
            for (let p = 0; p < P; p++) {
              const k = (qm * L + l) * P + p;
              const a = AW[attw.offset + k];
              let gA = 0;
              let gx = 0;
              let gy = 0;
              if (corners(LO[loc.offset + 2 * k], LO[loc.offset + 2 * k + 1], h, w, fr, s)) {
                // dots[c] = sum_d gout[d] * value_c[d] gives the weight and location gradients; the value gradient
                // of corner c is a * w_c * gout.
                for (let c = 0; c < 4; c++) {
                  const r = s.rows[c];
                  dots[c] = 0;
                  if (r < 0) continue;
                  const vb = ((n * S + starts[l] + r) * M + m) * D;
                  const cw = a * s.w[c];
                  let dot = 0;
                  for (let d = 0; d < D; d++) {
                    const g = GO[gb + d];
                    dot += g * V[value.offset + vb + d];
                    GV[gv.offset + vb + d] += cw * g;
                  }
                  dots[c] = dot;
                }
                const { tx, ty } = s;
                gA = s.w[0] * dots[0] + s.w[1] * dots[1] + s.w[2] * dots[2] + s.w[3] * dots[3];
                gx = (dots[1] - dots[0]) * (1 - ty) + (dots[3] - dots[2]) * ty;
                gy = (dots[2] - dots[0]) * (1 - tx) + (dots[3] - dots[1]) * tx;
              }
              GA[ga.offset + k] = gA;
              // d(pixel)/d(loc) = size.
              GL[gl.offset + 2 * k] = a * gx * w;
              GL[gl.offset + 2 * k + 1] = a * gy * h;
            }
          }
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

/**
 * Multi-scale deformable attention: value [N, S, M, D] (S = sum of h*w over levels, level-major, row-major
 * inside a level), spatialShapes [[h, w], ...] per level, samplingLocations [N, Lq, M, L, P, 2] as (x, y) in [0, 1],
 * attentionWeights [N, Lq, M, L, P] -> [N, Lq, M*D].
 */
export function msDeformAttn(value: Tensor, spatialShapes: readonly (readonly [number, number])[], samplingLocations: Tensor, attentionWeights: Tensor): Tensor {
  const op = 'msDeformAttn';
  if (value.rank !== 4) throw new ShapeError(`${op}: value must be [N, S, M, D], got ${fmtShape(value.shape)}`);
  const [N, S, M, D] = value.shape;
  const L = spatialShapes.length;
  if (L === 0 || spatialShapes.some((s) => s.length !== 2 || s.some((v) => !Number.isInteger(v) || v < 1))) {
    throw new SpatialOptionError(`${op}: spatialShapes must list at least one [h, w] pair of positive integers, got ${JSON.stringify(spatialShapes)}`);
  }
  const starts: number[] = [];
  let total = 0;
  for (const [h, w] of spatialShapes) {
    starts.push(total);
    total += h * w;
  }
  if (total !== S) throw new ShapeError(`${op}: spatialShapes cover ${total} positions but value ${fmtShape(value.shape)} has S = ${S}`);
  const loc = samplingLocations;
  if (loc.rank !== 6 || loc.shape[0] !== N || loc.shape[2] !== M || loc.shape[3] !== L || loc.shape[5] !== 2) {
    throw new ShapeError(`${op}: samplingLocations must be [${N}, Lq, ${M}, ${L}, P, 2], got ${fmtShape(loc.shape)}`);
  }
  if (!shapesEqual(attentionWeights.shape, loc.shape.slice(0, 5))) {
    throw new ShapeError(`${op}: attentionWeights must be ${fmtShape(loc.shape.slice(0, 5))} (samplingLocations without the last dim), got ${fmtShape(attentionWeights.shape)}`);
  }
  for (const [name, t] of [['value', value], ['samplingLocations', loc], ['attentionWeights', attentionWeights]] as const) expectFloat(op, name, t.dtype);
  const dtype = promote(promote(value.dtype, loc.dtype), attentionWeights.dtype);
  const attrs = { shapes: spatialShapes.map(([h, w]) => [h, w]), starts };
  const prep = (t: Tensor) => contiguous(t.dtype === dtype ? t : cast(t, dtype));
  const Lq = loc.shape[1];
  const y = noGrad(() => tidy(() => run('ms_deform_attn', [prep(value), prep(loc), prep(attentionWeights)], [{ shape: [N, Lq, M * D], dtype }], attrs)[0]));
  return record('ms_deform_attn', [value, loc, attentionWeights], y, (g, ctx) => {
    const [vi, li, ai] = ctx.inputs;
    const grads = run('ms_deform_attn_backward', [contiguous(g), prep(vi), prep(li), prep(ai)], [vi, li, ai].map((t) => ({ shape: t.shape, dtype })), attrs);
    return grads.map((gr, i) => (gr.dtype === ctx.inputs[i].dtype ? gr : cast(gr, ctx.inputs[i].dtype)));
  });
}
