/**
 * WebGPU pooling kernels (contracts in ops/pool2d/pool2d.ts): `max_pool2d`, `avg_pool2d` (one thread per output,
 * torch's window bounds and divisor) and their backwards (one thread per input element over the windows that can
 * contain it, so no atomics).
 */
import type { AvgPoolAttrs, MaxPoolAttrs } from '../../../kernels.ts';
import { registerKernel } from '../../../kernels.ts';
import type { Uniforms } from '../codegen.ts';
import { loadAs, storeFrom } from '../codegen.ts';
import { launch } from './launch.ts';

const F = ['float32', 'float16', 'bfloat16'] as const;
const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;

function geom(u: Uniforms, x: readonly number[], y: readonly number[], a: MaxPoolAttrs | AvgPoolAttrs): string {
  const [kh, kw] = a.kernel as number[];
  const [sh, sw] = a.stride as number[];
  const [ph, pw] = a.padding as number[];
  const [dh, dw] = (a.dilation as number[] | undefined) ?? [1, 1];
  const m = u.index;
  u.i(x[2], x[3], y[2], y[3], kh, kw, sh, sw, ph, pw, dh, dw);
  return ['H', 'W', 'Ho', 'Wo', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW'].map((n, i) => `let ${n} = ${w(m + i)};`).join(' ');
}

registerKernel(
  'webgpu',
  'max_pool2d',
  ([x], [y, ind], a) => {
    launch([x], [y, ind], y.shape.reduce((p, d) => p * d, 1), (u) => `${geom(u, x.shape, y.shape, a)}
  let ow = i32(idx) % Wo; let oh = (i32(idx) / Wo) % Ho; let pl = i32(idx) / (Wo * Ho);
  var h0 = oh * SH - PH; let h1 = min(h0 + (KH - 1) * DH + 1, H);
  while (h0 < 0) { h0 += DH; }
  var w0 = ow * SW - PW; let w1 = min(w0 + (KW - 1) * DW + 1, W);
  while (w0 < 0) { w0 += DW; }
  var best = h0 * W + w0; var m = -f_inf();
  let base = b0 + pl * H * W;
  for (var ih = h0; ih < h1; ih += DH) {
    for (var iw = w0; iw < w1; iw += DW) {
      let v = ${loadAs('in0[base + ih * W + iw]', x.dtype, 'f32')};
      if (v > m || isnan_f(v)) { m = v; best = ih * W + iw; }
    }
  }
  out0[b1 + i32(idx)] = ${storeFrom('m', 'f32', y.dtype)};
  out1[b2 + i32(idx)] = best;`);
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'max_pool2d_backward',
  ([gy, ind], [gx], a) => {
    launch([gy, ind], [gx], gx.shape.reduce((p, d) => p * d, 1), (u) => `${geom(u, gx.shape, gy.shape, a)}
  let iw = i32(idx) % W; let ih = (i32(idx) / W) % H; let pl = i32(idx) / (W * H);
  let me = ih * W + iw;
  let ohLo = max(0, (ih + PH - (KH - 1) * DH + SH - 1) / SH); let ohHi = min(Ho - 1, (ih + PH) / SH);
  let owLo = max(0, (iw + PW - (KW - 1) * DW + SW - 1) / SW); let owHi = min(Wo - 1, (iw + PW) / SW);
  var acc = 0.0;
  for (var oh = select(ohLo, 0, ih + PH - (KH - 1) * DH < 0); oh <= ohHi; oh++) {
    for (var ow = select(owLo, 0, iw + PW - (KW - 1) * DW < 0); ow <= owHi; ow++) {
      let o = (pl * Ho + oh) * Wo + ow;
      if (in1[b1 + o] == me) { acc += ${loadAs('in0[b0 + o]', gy.dtype, 'f32')}; }
    }
  }
  out0[b2 + i32(idx)] = ${storeFrom('acc', 'f32', gx.dtype)};`);
  },
  { dtypes: [...F] },
);

/** WGSL computing the avg window of output (oh, ow): h0 h1 w0 w1 and the divisor (torch's rule). */
const AVG_WINDOW = (cip: boolean) => `var h0 = oh * SH - PH; var h1 = min(h0 + KH, H + PH); let hs = h1 - h0; h0 = max(h0, 0); h1 = min(h1, H);
    var w0 = ow * SW - PW; var w1 = min(w0 + KW, W + PW); let ws = w1 - w0; w0 = max(w0, 0); w1 = min(w1, W);
    let div = f32(${cip ? 'hs * ws' : '(h1 - h0) * (w1 - w0)'});`;

registerKernel(
  'webgpu',
  'avg_pool2d',
  ([x], [y], a) => {
    launch([x], [y], y.shape.reduce((p, d) => p * d, 1), (u) => `${geom(u, x.shape, y.shape, a)}
  let ow = i32(idx) % Wo; let oh = (i32(idx) / Wo) % Ho; let pl = i32(idx) / (Wo * Ho);
  ${AVG_WINDOW(a.countIncludePad)}
  var s = 0.0;
  let base = b0 + pl * H * W;
  for (var ih = h0; ih < h1; ih++) { for (var iw = w0; iw < w1; iw++) { s += ${loadAs('in0[base + ih * W + iw]', x.dtype, 'f32')}; } }
  var r = s / div;
  if (h0 >= h1 || w0 >= w1) { r = 0.0; }
  out0[b1 + i32(idx)] = ${storeFrom('r', 'f32', y.dtype)};`);
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'avg_pool2d_backward',
  ([gy], [gx], a) => {
    launch([gy], [gx], gx.shape.reduce((p, d) => p * d, 1), (u) => `${geom(u, gx.shape, gy.shape, a)}
  let iw = i32(idx) % W; let ih = (i32(idx) / W) % H; let pl = i32(idx) / (W * H);
  var acc = 0.0;
  let ohLo = max(0, (ih + PH - KH + SH) / SH - 1); let ohHi = min(Ho - 1, (ih + PH) / SH);
  let owLo = max(0, (iw + PW - KW + SW) / SW - 1); let owHi = min(Wo - 1, (iw + PW) / SW);
  for (var oh = ohLo; oh <= ohHi; oh++) {
    for (var ow = owLo; ow <= owHi; ow++) {
      ${AVG_WINDOW(a.countIncludePad)}
      if (ih >= h0 && ih < h1 && iw >= w0 && iw < w1) { acc += ${loadAs('in0[b0 + (pl * Ho + oh) * Wo + ow]', gy.dtype, 'f32')} / div; }
    }
  }
  out0[b1 + i32(idx)] = ${storeFrom('acc', 'f32', gx.dtype)};`);
  },
  { dtypes: [...F] },
);
