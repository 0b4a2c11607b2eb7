/**
 * WebGPU `sdpa` (contract in ops/attention/attention.ts): flash-style, one workgroup per query row, keys in blocks
 * of 64 (one score per thread, kept in workgroup memory), an online softmax (running max and sum) and each thread
 * accumulating up to 4 output channels (Dv <= 256). Grouped KV heads, bottom-right causal alignment, an optional
 * additive mask broadcast over batch/heads; rows that see no key give NaN, as on the CPU.
 */
import { UnsupportedError } from '../../../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { loadAs, storeFrom } from '../codegen.ts';
import { launch } from './launch.ts';

const WG = 64;

registerKernel(
  'webgpu',
  'sdpa',
  ([q, k, v, mask], [out], attrs) => {
    const [B, Hq, Tq, D] = q.shape;
    const [, Hk, Tk] = k.shape;
    const Dv = v.shape[3];
    if (Dv > 4 * WG) throw new UnsupportedError(`sdpa on webgpu supports value dims up to ${4 * WG}, got ${Dv}`);
    const causal = attrs.causal as boolean;
    const ins = mask ? [q, k, v, mask] : [q, k, v];
    const l = (e: string) => loadAs(e, q.dtype, 'f32');
    const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;
    const ob = mask ? 'b4' : 'b3';
    launch(
      ins,
      [out],
      B * Hq * Tq,
      (u) => {
        const m = u.index;
        u.i(Hq, Tq, D, Hk, Tk, Dv, mask ? mask.shape[0] : 0, mask ? mask.shape[1] : 0);
        u.f(attrs.scale as number);
        return `let Hq = ${w(m)}; let Tq = ${w(m + 1)}; let D = ${w(m + 2)}; let Hk = ${w(m + 3)}; let Tk = ${w(m + 4)}; let Dv = ${w(m + 5)};
  let scale = bitcast<f32>(${w(m + 8)});
  let i = i32(idx) % Tq; let bh = i32(idx) / Tq; let h = bh % Hq; let b = bh / Hq;
  let kh = h / (Hq / Hk);
  let qo = b0 + i32(idx) * D;
  let ko = b1 + (b * Hk + kh) * Tk * D;
  let vo = b2 + (b * Hk + kh) * Tk * Dv;
  ${mask ? `let mB = ${w(m + 6)}; let mH = ${w(m + 7)}; let mo = b3 + ((select(b, 0, mB == 1) * mH + select(h, 0, mH == 1)) * Tq + i) * Tk;` : ''}
  let jEnd = ${causal ? 'min(Tk, max(0, i + 1 + Tk - Tq))' : 'Tk'};
  var mx = -f_inf(); var sum = 0.0;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var j0 = 0; j0 < jEnd; j0 += ${WG}) {
    let j = j0 + i32(li);
    var s = -f_inf();
    if (j < jEnd) {
      var dot = 0.0;
      for (var d = 0; d < D; d++) { dot += ${l('in0[qo + d]')} * ${l('in1[ko + j * D + d]')}; }
      s = dot * scale${mask ? ` + ${loadAs('in3[mo + j]', mask.dtype, 'f32')}` : ''};
    }
    sc[li] = s;
    workgroupBarrier();
    let cnt = min(${WG}, jEnd - j0);
    var bm = mx;
    for (var t = 0; t < cnt; t++) { bm = max(bm, sc[t]); }
    if (bm > -f_inf()) {
      let corr = exp(mx - bm);
      sum = sum * corr;
      for (var c = 0; c < 4; c++) { acc[c] = acc[c] * corr; }
      for (var t = 0; t < cnt; t++) {
        let p = exp(sc[t] - bm);
        sum += p;
        for (var c = 0; c < 4; c++) {
          let dv = i32(li) + c * ${WG};
          if (dv < Dv) { acc[c] += p * ${l(`in2[vo + (j0 + t) * Dv + dv]`)}; }
        }
      }
      mx = bm;
    }
    workgroupBarrier();
  }
  for (var c = 0; c < 4; c++) {
    let dv = i32(li) + c * ${WG};
    if (dv < Dv) {
      var r = acc[c] / sum;
      if (sum == 0.0) { r = f_nan(); }
      out0[${ob} + i32(idx) * Dv + dv] = ${storeFrom('r', 'f32', out.dtype)};
    }
  }`;
      },
      { perGroup: true, wg: WG, decl: `var<workgroup> sc: array<f32, ${WG}>;` },
    );
  },
  { dtypes: ['float32', 'float16', 'bfloat16'] },
);
