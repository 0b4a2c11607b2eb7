/**
 * WebGPU conv2d kernels (contracts in ops/conv2d/conv2d-cpu.ts): `conv2d` as an implicit GEMM (im2col addressing
 * in the loads, no column buffer; each thread computes 4 output channels x 4 output pixels; on CPU adapters with
 * subgroups the broadcast GEMM with im2col loads of ./conv-bcast.ts), 1x1 convolutions without bias on the matmul
 * kernel, depthwise convolutions directly (one thread per output), `conv2d_grad_input`
 * (one thread per input element over the taps that reach it) and `conv2d_grad_weight` (one workgroup per weight
 * element, reducing over batch and output pixels). f32 accumulation.
 */
import type { ConvAttrs } from '../../../kernels.ts';
import type { View } from '../../../backend.ts';
import { getKernel, registerKernel } from '../../../kernels.ts';
import { rt } from '../backend.ts';
import type { Uniforms } from '../codegen.ts';
import { loadAs, storeFrom } from '../codegen.ts';
import { convBcast } from './conv-bcast.ts';
import { groupSum, launch } from './launch.ts';

const F = ['float32', 'float16', 'bfloat16'] as const;
const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;

/** Appends the geometry and returns WGSL lets for it. */
function geom(u: Uniforms, x: readonly number[], wt: readonly number[], y: readonly number[], a: ConvAttrs): string {
  const [sh, sw] = a.stride as number[];
  const [ph, pw] = a.padding as number[];
  const [dh, dw] = a.dilation as number[];
  const G = a.groups;
  const m = u.index;
  u.i(x[0], x[1], x[2], x[3], wt[0], wt[1], wt[2], wt[3], y[2], y[3], sh, sw, ph, pw, dh, dw, G);
  const names = ['NB', 'C', 'H', 'W', 'O', 'Cg', 'KH', 'KW', 'Ho', 'Wo', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW', 'G'];
  return names.map((n, i) => `let ${n} = ${w(m + i)};`).join(' ') + ' let Og = O / G;';
}

/**
 * A 1x1 convolution with stride 1, no padding and one group is a matrix product per image: y[n] [O, H*W] =
 * W [O, C] . x[n] [C, H*W]. It runs on the tuned matmul kernel (the weight broadcast over the batch with stride 0).
 */
function conv1x1(x: View, wt: View, y: View): void {
  const [N, C, H, W] = x.shape;
  const O = wt.shape[0];
  const P = H * W;
  const mm = getKernel('webgpu', 'matmul');
  if (!mm) throw new Error('webgpu conv2d: the matmul kernel is not registered');
  rt().variant('conv2d:1x1-gemm');
  const a: View = { storage: wt.storage, dtype: wt.dtype, shape: [N, O, C], strides: [0, C, 1], offset: wt.offset };
  const b: View = { storage: x.storage, dtype: x.dtype, shape: [N, C, P], strides: [C * P, P, 1], offset: x.offset };
  const out: View = { storage: y.storage, dtype: y.dtype, shape: [N, O, P], strides: [O * P, P, 1], offset: y.offset };
  mm.fn([a, b], [out], {});
}

const is1x1 = (wt: View, a: ConvAttrs, bias: View | undefined) => {
  const [sh, sw] = a.stride as number[];
  const [ph, pw] = a.padding as number[];
  return !bias && wt.shape[2] === 1 && wt.shape[3] === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0 && a.groups === 1;
};

/**
 * Depthwise convolution (one input channel per group, `groups` = C, any channel multiplier): one thread per output
 * element over its KH x KW taps. The implicit GEMM would compute 4 output channels per thread of which a depthwise
 * group has only O / C.
 */
function depthwise(x: View, wt: View, bias: View | undefined, y: View, a: ConvAttrs): void {
  rt().variant('conv2d:depthwise');
  const ins: View[] = bias ? [x, wt, bias] : [x, wt];
  launch(ins, [y], y.shape.reduce((p, d) => p * d, 1), (u) => {
    const g = geom(u, x.shape, wt.shape, y.shape, a);
    return `${g}
  let ow = i32(idx) % Wo; let oh = (i32(idx) / Wo) % Ho; let o = (i32(idx) / (Wo * Ho)) % O; let n = i32(idx) / (Wo * Ho * O);
  let c = o / Og;
  var acc = ${bias ? loadAs('in2[b2 + o]', bias.dtype, 'f32') : '0.0'};
  for (var ky = 0; ky < KH; ky++) {
    let ih = oh * SH - PH + ky * DH;
    if (ih < 0 || ih >= H) { continue; }
    for (var kx = 0; kx < KW; kx++) {
      let iw = ow * SW - PW + kx * DW;
      if (iw >= 0 && iw < W) {
        acc += ${loadAs('in0[b0 + ((n * C + c) * H + ih) * W + iw]', x.dtype, 'f32')} * ${loadAs('in1[b1 + (o * KH + ky) * KW + kx]', wt.dtype, 'f32')};
      }
    }
  }
  out0[${bias ? 'b3' : 'b2'} + i32(idx)] = ${storeFrom('acc', 'f32', y.dtype)};`;
  });
}

registerKernel(
  'webgpu',
  'conv2d',
  ([x, wt, bias], [y], a) => {
    if (is1x1(wt, a, bias)) {
      conv1x1(x, wt, y);
      return;
    }
    const groups = a.groups;
    if (groups > 1 && groups === x.shape[1] && wt.shape[1] === 1) {
      depthwise(x, wt, bias, y, a);
      return;
    }
    // CPU adapters with subgroups: the broadcast GEMM with im2col loads (./conv-bcast.ts)
    if (convBcast(x, wt, bias, y, a)) return;
    const [N, , ,] = x.shape;
    const [O, , ,] = wt.shape;
    const G = a.groups;
    const P = y.shape[2] * y.shape[3];
    const Og = O / G;
    const gx = Math.ceil(P / 32);
    const gy = Math.ceil(Og / 32);
    const gz = N * G;
    const total = gx * gy * gz;
    const ins: View[] = bias ? [x, wt, bias] : [x, wt];
    const lx = (e: string) => loadAs(e, x.dtype, 'f32');
    const yb = bias ? 'b3' : 'b2';
    // one 8x8-thread workgroup per (32 pixels, 32 channels, image*group) tile: item = workgroup
    launch(
      ins,
      [y],
      total,
      (u) => {
        const g = geom(u, x.shape, wt.shape, y.shape, a);
        const tm = u.index;
        u.i(gx, gy);
        return `${g}
  let P = Ho * Wo;
  let tx = i32(idx) % ${w(tm)}; let ty = (i32(idx) / ${w(tm)}) % ${w(tm + 1)}; let tz = i32(idx) / (${w(tm)} * ${w(tm + 1)});
  let n = tz / G; let grp = tz % G;
  let lx = i32(li) % 8; let ly = i32(li) / 8;
  let p0 = (tx * 8 + lx) * 4; let o0 = grp * Og + (ty * 8 + ly) * 4;
  if (p0 >= P || o0 >= (grp + 1) * Og) { return; }
  var oh: array<i32, 4>; var ow: array<i32, 4>;
  for (var j = 0; j < 4; j++) { let p = min(p0 + j, P - 1); oh[j] = (p / Wo) * SH - PH; ow[j] = (p % Wo) * SW - PW; }
  var acc: array<vec4<f32>, 4>;
  let xb = b0 + (n * C + grp * Cg) * H * W;
  for (var c = 0; c < Cg; c++) {
    for (var ky = 0; ky < KH; ky++) {
      for (var kx = 0; kx < KW; kx++) {
        var xv = vec4<f32>(0.0);
        for (var j = 0; j < 4; j++) {
          let ih = oh[j] + ky * DH; let iw = ow[j] + kx * DW;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) { xv[j] = ${lx('in0[xb + (c * H + ih) * W + iw]')}; }
        }
        let wk = (c * KH + ky) * KW + kx;
        for (var i = 0; i < 4; i++) {
          let o = min(o0 + i, O - 1);
          acc[i] += ${loadAs('in1[b1 + o * Cg * KH * KW + wk]', wt.dtype, 'f32')} * xv;
        }
      }
    }
  }
  for (var i = 0; i < 4; i++) {
    let o = o0 + i;
    if (o < (grp + 1) * Og) {
      ${bias ? `let bv = ${loadAs('in2[b2 + o]', bias.dtype, 'f32')};` : 'let bv = 0.0;'}
      for (var j = 0; j < 4; j++) {
        if (p0 + j < P) { out0[${yb} + (n * O + o) * P + p0 + j] = ${storeFrom('acc[i][j] + bv', 'f32', y.dtype)}; }
      }
    }
  }`;
      },
      { perGroup: true, wg: 64 },
    );
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'conv2d_grad_input',
  ([gyv, wt], [gxv], a) => {
    launch([gyv, wt], [gxv], gxv.shape.reduce((p, d) => p * d, 1), (u) => {
      const g = geom(u, gxv.shape, wt.shape, gyv.shape, a);
      return `${g}
  let iw = i32(idx) % W; let ih = (i32(idx) / W) % H; let cAll = (i32(idx) / (W * H)) % C; let n = i32(idx) / (W * H * C);
  let grp = cAll / Cg; let c = cAll % Cg;
  var acc = 0.0;
  for (var ky = 0; ky < KH; ky++) {
    let th = ih + PH - ky * DH;
    if (th < 0 || th % SH != 0) { continue; }
    let oh = th / SH;
    if (oh >= Ho) { continue; }
    for (var kx = 0; kx < KW; kx++) {
      let tw = iw + PW - kx * DW;
      if (tw < 0 || tw % SW != 0) { continue; }
      let ow = tw / SW;
      if (ow >= Wo) { continue; }
      for (var oo = 0; oo < Og; oo++) {
        let o = grp * Og + oo;
        acc += ${loadAs('in0[b0 + ((n * O + o) * Ho + oh) * Wo + ow]', gyv.dtype, 'f32')} * ${loadAs('in1[b1 + ((o * Cg + c) * KH + ky) * KW + kx]', wt.dtype, 'f32')};
      }
    }
  }
  out0[b2 + i32(idx)] = ${storeFrom('acc', 'f32', gxv.dtype)};`;
    });
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'conv2d_grad_weight',
  ([gyv, x], [gw], a) => {
    launch(
      [gyv, x],
      [gw],
      gw.shape.reduce((p, d) => p * d, 1),
      (u) => {
        const g = geom(u, x.shape, gw.shape, gyv.shape, a);
        return `${g}
  let kx = i32(idx) % KW; let ky = (i32(idx) / KW) % KH; let c = (i32(idx) / (KW * KH)) % Cg; let o = i32(idx) / (KW * KH * Cg);
  let grp = o / Og;
  let P = Ho * Wo;
  var s = 0.0;
  for (var t = i32(li); t < NB * P; t += 64) {
    let n = t / P; let p = t % P;
    let ih = (p / Wo) * SH - PH + ky * DH; let iw = (p % Wo) * SW - PW + kx * DW;
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
      s += ${loadAs('in0[b0 + (n * O + o) * P + p]', gyv.dtype, 'f32')} * ${loadAs('in1[b1 + ((n * C + grp * Cg + c) * H + ih) * W + iw]', x.dtype, 'f32')};
    }
  }
  ${groupSum('s', 64, 'tot')}
  if (li == 0u) { out0[b2 + i32(idx)] = ${storeFrom('tot', 'f32', gw.dtype)}; }`;
      },
      { perGroup: true, wg: 64, decl: 'var<workgroup> red: array<f32, 64>;' },
    );
  },
  { dtypes: [...F] },
);
