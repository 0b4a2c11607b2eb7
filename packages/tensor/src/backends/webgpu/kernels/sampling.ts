/**
 * WebGPU resampling kernels (contracts in ops/interpolate, ops/grid-sample, ops/ms-deform-attn): forwards one
 * thread per output element; backwards one thread per output (or sample) scattering into the input gradient with a
 * compare-and-swap float atomic add (float32; half dtypes run them on f32 copies, see widen.ts; their summation
 * order is not fixed).
 * interpolate's source taps come from the CPU's `interpTaps` (torch's float32 index arithmetic) in a small buffer.
 */
import type { GridSampleAttrs, InterpolateAttrs, MsDeformAttrs } from '../../../kernels.ts';
import type { View } from '../../../backend.ts';
import { widenToF32 } from './widen.ts';
import { registerKernel } from '../../../kernels.ts';
import { interpTaps } from '../../../ops/interpolate/interpolate.ts';
import { loadAs, storeFrom } from '../codegen.ts';
import { launch, withTempI32, zeroFill } from './launch.ts';

const F = ['float32', 'float16', 'bfloat16'] as const;
const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;
const UM = 'fn um(i: i32) -> i32 { return u.m[i / 4][i % 4]; }';
const numelOf = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
const f32bits = (v: number) => new Int32Array(new Float32Array([v]).buffer)[0];

/** Taps of both dims packed as i32 words: per output index (i0, i1, bits(l0), bits(l1)); H taps then W taps. */
function tapsData(small: View, big: View, a: InterpolateAttrs): Int32Array {
  const [sh, sw] = a.scales as (number | null)[];
  const mode = a.mode as string;
  const ac = a.alignCorners;
  const th = interpTaps(mode, small.shape[2], big.shape[2], ac, sh, Math.fround);
  const tw = interpTaps(mode, small.shape[3], big.shape[3], ac, sw, Math.fround);
  const out = new Int32Array(4 * (big.shape[2] + big.shape[3]));
  let k = 0;
  for (const t of [th, tw]) {
    for (let o = 0; o < t.i0.length; o++) {
      out[k++] = t.i0[o];
      out[k++] = t.i1[o];
      out[k++] = f32bits(t.l0[o]);
      out[k++] = f32bits(t.l1[o]);
    }
  }
  return out;
}

const TAPS = `let pl = i32(idx) / (Ho * Wo); let oh = (i32(idx) / Wo) % Ho; let ow = i32(idx) % Wo;
  let th = 4 * oh; let tw = 4 * (Ho + ow);
  let r0 = in1[th]; let r1 = in1[th + 1]; let a0 = bitcast<f32>(in1[th + 2]); let a1 = bitcast<f32>(in1[th + 3]);
  let c0 = in1[tw]; let c1 = in1[tw + 1]; let e0 = bitcast<f32>(in1[tw + 2]); let e1 = bitcast<f32>(in1[tw + 3]);`;

registerKernel(
  'webgpu',
  'interpolate',
  ([x], [y], a) => {
    withTempI32(tapsData(x, y, a), (taps) => {
      launch([x, taps], [y], numelOf(y.shape), (u) => {
        const m = u.index;
        u.i(x.shape[2], x.shape[3], y.shape[2], y.shape[3]);
        const lx = (e: string) => loadAs(e, x.dtype, 'f32');
        return `let H = ${w(m)}; let W = ${w(m + 1)}; let Ho = ${w(m + 2)}; let Wo = ${w(m + 3)};
  ${TAPS}
  let base = b0 + pl * H * W;
  let v = a0 * (e0 * ${lx('in0[base + r0 * W + c0]')} + e1 * ${lx('in0[base + r0 * W + c1]')}) + a1 * (e0 * ${lx('in0[base + r1 * W + c0]')} + e1 * ${lx('in0[base + r1 * W + c1]')});
  out0[b2 + i32(idx)] = ${storeFrom('v', 'f32', y.dtype)};`;
      });
    });
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'interpolate_backward',
  widenToF32(
  ([gy], [gx], a) => {
    zeroFill(gx);
    withTempI32(tapsData(gx, gy, a), (taps) => {
      launch(
        [gy, taps],
        [gx],
        numelOf(gy.shape),
        (u) => {
          const m = u.index;
          u.i(gx.shape[2], gx.shape[3], gy.shape[2], gy.shape[3]);
          return `let H = ${w(m)}; let W = ${w(m + 1)}; let Ho = ${w(m + 2)}; let Wo = ${w(m + 3)};
  ${TAPS}
  let g = in0[b0 + i32(idx)];
  let base = b2 + pl * H * W;
  atomicAdd_out0(base + r0 * W + c0, a0 * e0 * g);
  atomicAdd_out0(base + r0 * W + c1, a0 * e1 * g);
  atomicAdd_out0(base + r1 * W + c0, a1 * e0 * g);
  atomicAdd_out0(base + r1 * W + c1, a1 * e1 * g);`;
        },
        { atomic: [0] },
      );
    });
  },
    'interpolate_backward',
  ),
  { dtypes: [...F] },
);

/** WGSL: pixel coordinate and its derivative for grid coordinate `c` along a dim of `size` (torch's rule). */
const SOURCE = `fn source(c: f32, size: i32, ac: bool, border: bool) -> vec2<f32> {
  var v: f32; var dv: f32;
  if (ac) { v = ((c + 1.0) / 2.0) * f32(size - 1); dv = f32(size - 1) / 2.0; }
  else { v = ((c + 1.0) * f32(size) - 1.0) / 2.0; dv = f32(size) / 2.0; }
  if (border) {
    if (v <= 0.0) { return vec2<f32>(0.0, 0.0); }
    if (v >= f32(size - 1)) { return vec2<f32>(f32(size - 1), 0.0); }
  }
  return vec2<f32>(v, dv);
}`;

function gridHead(x: View, grid: View, a: GridSampleAttrs, u: { i(...v: number[]): unknown; index: number }): string {
  const m = u.index;
  u.i(x.shape[1], x.shape[2], x.shape[3], grid.shape[1] * grid.shape[2]);
  const ac = a.alignCorners ? 'true' : 'false';
  const border = a.paddingMode === 'border' ? 'true' : 'false';
  const lg = (e: string) => loadAs(e, grid.dtype, 'f32');
  return `let C = ${w(m)}; let H = ${w(m + 1)}; let W = ${w(m + 2)}; let P = ${w(m + 3)};
  let sx = source(${lg('in1[b1 + 2 * np]')}, W, ${ac}, ${border});
  let sy = source(${lg('in1[b1 + 2 * np + 1]')}, H, ${ac}, ${border});
  let ix = sx.x; let iy = sy.x;
  let x0 = i32(floor(ix)); let y0 = i32(floor(iy));
  let tx = ix - floor(ix); let ty = iy - floor(iy);
  let in00 = y0 >= 0 && y0 < H && x0 >= 0 && x0 < W;
  let in01 = y0 >= 0 && y0 < H && x0 + 1 >= 0 && x0 + 1 < W;
  let in10 = y0 + 1 >= 0 && y0 + 1 < H && x0 >= 0 && x0 < W;
  let in11 = y0 + 1 >= 0 && y0 + 1 < H && x0 + 1 >= 0 && x0 + 1 < W;
  let w00 = (1.0 - tx) * (1.0 - ty); let w01 = tx * (1.0 - ty); let w10 = (1.0 - tx) * ty; let w11 = tx * ty;
  let o00 = y0 * W + x0;`;
}

registerKernel(
  'webgpu',
  'grid_sample',
  ([x, grid], [y], a) => {
    const lx = (e: string) => loadAs(e, x.dtype, 'f32');
    launch(
      [x, grid],
      [y],
      numelOf(y.shape),
      (u) => `let p = i32(idx) % ${w(u.index + 3)}; let nc = i32(idx) / ${w(u.index + 3)};
  let n = nc / ${w(u.index)}; let np = n * ${w(u.index + 3)} + p;
  ${gridHead(x, grid, a, u)}
  let xb = b0 + nc * H * W + o00;
  var v = 0.0;
  if (in00) { v += w00 * ${lx('in0[xb]')}; }
  if (in01) { v += w01 * ${lx('in0[xb + 1]')}; }
  if (in10) { v += w10 * ${lx('in0[xb + W]')}; }
  if (in11) { v += w11 * ${lx('in0[xb + W + 1]')}; }
  out0[b2 + i32(idx)] = ${storeFrom('v', 'f32', y.dtype)};`,
      { decl: SOURCE },
    );
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'grid_sample_backward',
  widenToF32(
  ([gy, x, grid], [gx, gg], a) => {
    zeroFill(gx);
    const N = x.shape[0];
    const P = grid.shape[1] * grid.shape[2];
    // inputs: in0 gy, in1 grid, in2 x (gridHead reads the grid as in1)
    launch(
      [gy, grid, x],
      [gx, gg],
      N * P,
      (u) => `let np = i32(idx); let n = np / ${w(u.index + 3)}; let p = np % ${w(u.index + 3)};
  ${gridHead(x, grid, a, u)}
  var gix = 0.0; var giy = 0.0;
  for (var c = 0; c < C; c++) {
    let g = in0[b0 + (n * C + c) * P + p];
    let xb = b2 + (n * C + c) * H * W + o00;
    let gb = b3 + (n * C + c) * H * W + o00;
    var v00 = 0.0; var v01 = 0.0; var v10 = 0.0; var v11 = 0.0;
    if (in00) { v00 = in2[xb]; atomicAdd_out0(gb, w00 * g); }
    if (in01) { v01 = in2[xb + 1]; atomicAdd_out0(gb + 1, w01 * g); }
    if (in10) { v10 = in2[xb + W]; atomicAdd_out0(gb + W, w10 * g); }
    if (in11) { v11 = in2[xb + W + 1]; atomicAdd_out0(gb + W + 1, w11 * g); }
    gix += g * ((v01 - v00) * (1.0 - ty) + (v11 - v10) * ty);
    giy += g * ((v10 - v00) * (1.0 - tx) + (v11 - v01) * tx);
  }
  out1[b4 + 2 * np] = gix * sx.y;
  out1[b4 + 2 * np + 1] = giy * sy.y;`,
      { decl: SOURCE, atomic: [0] },
    );
  },
    'grid_sample_backward',
  ),
  { dtypes: [...F] },
);

/** WGSL: the 4 bilinear corners (rows, -1 outside) and weights of loc (lx, ly) on an h x w map (torch's float ops). */
const CORNERS = `struct Corners { ok: bool, rows: vec4<i32>, w: vec4<f32>, tx: f32, ty: f32 }
fn corners(lx: f32, ly: f32, h: i32, w: i32) -> Corners {
  var s: Corners;
  let ix = (((2.0 * lx - 1.0) + 1.0) * f32(w) - 1.0) / 2.0;
  let iy = (((2.0 * ly - 1.0) + 1.0) * f32(h) - 1.0) / 2.0;
  let x0 = i32(floor(ix)); let y0 = i32(floor(iy));
  s.tx = ix - floor(ix); s.ty = iy - floor(iy);
  s.ok = x0 >= -1 && x0 < w && y0 >= -1 && y0 < h;
  s.w = vec4<f32>((1.0 - s.tx) * (1.0 - s.ty), s.tx * (1.0 - s.ty), (1.0 - s.tx) * s.ty, s.tx * s.ty);
  let left = x0 >= 0; let right = x0 + 1 < w; let top = y0 >= 0; let bottom = y0 + 1 < h;
  let r0 = y0 * w + x0;
  s.rows = vec4<i32>(select(-1, r0, top && left), select(-1, r0 + 1, top && right), select(-1, r0 + w, bottom && left), select(-1, r0 + w + 1, bottom && right));
  return s;
}`;

function msMeta(value: View, loc: View, a: MsDeformAttrs, u: { i(...v: number[]): unknown; index: number }): string {
  const [, S, M, D] = value.shape;
  const [, Lq, , L, P] = loc.shape;
  const shapes = a.shapes as [number, number][];
  const starts = a.starts as number[];
  const m = u.index;
  u.i(S, M, D, Lq, L, P);
  const lv = u.index;
  for (let l = 0; l < L; l++) u.i(shapes[l][0], shapes[l][1], starts[l]);
  return `let S = ${w(m)}; let M = ${w(m + 1)}; let D = ${w(m + 2)}; let Lq = ${w(m + 3)}; let L = ${w(m + 4)}; let P = ${w(m + 5)}; let LV = ${lv};`;
}

registerKernel(
  'webgpu',
  'ms_deform_attn',
  ([value, loc, attw], [out], a) => {
    const [, , M, D] = value.shape;
    const [N, Lq] = loc.shape;
    const ld = (e: string, v: View) => loadAs(e, v.dtype, 'f32');
    launch(
      [value, loc, attw],
      [out],
      N * Lq * M * D,
      (u) => `${msMeta(value, loc, a, u)}
  let d = i32(idx) % D; let qm = i32(idx) / D; let mh = qm % M; let n = qm / (M * Lq);
  var acc = 0.0;
  for (var l = 0; l < L; l++) {
    let h = um(LV + 3 * l); let wd = um(LV + 3 * l + 1); let st = um(LV + 3 * l + 2);
    for (var p = 0; p < P; p++) {
      let k = (qm * L + l) * P + p;
      let aw = ${ld('in2[b2 + k]', attw)};
      let s = corners(${ld('in1[b1 + 2 * k]', loc)}, ${ld('in1[b1 + 2 * k + 1]', loc)}, h, wd);
      if (!s.ok) { continue; }
      for (var c = 0; c < 4; c++) {
        if (s.rows[c] < 0) { continue; }
        acc += aw * s.w[c] * ${ld('in0[b0 + ((n * S + st + s.rows[c]) * M + mh) * D + d]', value)};
      }
    }
  }
  out0[b3 + i32(idx)] = ${storeFrom('acc', 'f32', out.dtype)};`,
      { decl: `${CORNERS}\n${UM}` },
    );
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'ms_deform_attn_backward',
  widenToF32(
  ([gout, value, loc, attw], [gv, gl, ga], a) => {
    zeroFill(gv);
    launch(
      [gout, value, loc, attw],
      [gv, gl, ga],
      numelOf(attw.shape),
      (u) => `${msMeta(value, loc, a, u)}
  let k = i32(idx); let p = k % P; let l = (k / P) % L; let qm = k / (P * L); let mh = qm % M; let n = qm / (M * Lq);
  let h = um(LV + 3 * l); let wd = um(LV + 3 * l + 1); let st = um(LV + 3 * l + 2);
  let aw = in3[b3 + k];
  let s = corners(in2[b2 + 2 * k], in2[b2 + 2 * k + 1], h, wd);
  var gA = 0.0; var gx = 0.0; var gy = 0.0;
  if (s.ok) {
    var dots = vec4<f32>(0.0);
    for (var c = 0; c < 4; c++) {
      let r = s.rows[c];
      if (r < 0) { continue; }
      let vb = ((n * S + st + r) * M + mh) * D;
      let cw = aw * s.w[c];
      var dsum = 0.0;
      for (var d = 0; d < D; d++) {
        let g = in0[b0 + qm * D + d];
        dsum += g * in1[b1 + vb + d];
        atomicAdd_out0(b4 + vb + d, cw * g);
      }
      dots[c] = dsum;
    }
    gA = dot(s.w, dots);
    gx = (dots[1] - dots[0]) * (1.0 - s.ty) + (dots[3] - dots[2]) * s.ty;
    gy = (dots[2] - dots[0]) * (1.0 - s.tx) + (dots[3] - dots[1]) * s.tx;
  }
  out2[b6 + k] = gA;
  out1[b5 + 2 * k] = aw * gx * f32(wd);
  out1[b5 + 2 * k + 1] = aw * gy * f32(h);`,
      { decl: `${CORNERS}\n${UM}`, atomic: [0] },
    );
  },
    'ms_deform_attn_backward',
  ),
  { dtypes: [...F] },
);
