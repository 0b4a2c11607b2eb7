/**
 * WebGPU `sdpa` (contract in ops/attention/attention.ts): flash-style, one workgroup per query row, keys in blocks
 * of 64 (one score per thread, kept in workgroup memory), an online softmax (running max and sum) and each thread
 * accumulating up to 4 output channels (Dv <= 256). Grouped KV heads, bottom-right causal alignment, an optional
 * additive mask broadcast over batch/heads; rows that see no key give NaN, as on the CPU. Each thread exponentiates
 * its own score once per block (the block's probabilities are shared through workgroup memory). With subgroups the
 * block maximum comes from subgroupMax (see launch.ts groupFnSg) instead of every thread scanning the block.
 *
 * Prefill and training shapes (at least TILED_ATTN.minRows query rows, head dims up to 128) take the tiled kernel
 * of ./attention-tiled.ts (query blocks, K/V tiles in workgroup memory) where TILED_ATTN says so.
 *
 * Decode shapes (1..4 query rows over a long KV prefix, see SPLIT_ATTN) take the split-K "flash-decoding" path: one
 * workgroup per (query row, chunk of CHUNK keys) writes its unnormalised partial output O_c with its running max m_c
 * and sum l_c (f32), and a merge kernel combines the chunks: m = max m_c, l = sum l_c e^(m_c - m),
 * out = sum O_c e^(m_c - m) / l (a chunk that saw no key has m_c = -inf and is skipped).
 */
import type { View } from '../../../backend.ts';
import { UnsupportedError } from '../../../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { rt } from '../backend.ts';
import type { Uniforms } from '../codegen.ts';
import { loadAs, storeFrom } from '../codegen.ts';
import { groupFnSg, launch, withTempF32 } from './launch.ts';
import { TILED_ATTN, encodeTiledSdpa, tiledAttnFits } from './attention-tiled.ts';
import { encodeGemmSdpa, gemmAttnFits } from './attention-gemm.ts';

const WG = 64;

/** The split-K decode path: at most `maxRows` query rows per head and at least `minKeys` keys, `chunk` keys per workgroup. */
export const SPLIT_ATTN = { maxRows: 4, minKeys: 512, chunk: 256 };

const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;

/**
 * The attention body for one workgroup: `split` = number of key chunks (0: whole rows). Without a split it writes
 * the normalised row into out0; with one, item idx = row * S + chunk writes O_c, m_c, l_c into the f32 partials.
 */
function body(q: View, mask: View | undefined, out: View, attrs: Record<string, unknown>, split: number, sg: boolean, u: Uniforms): string {
  const [, Hq, Tq, D] = q.shape;
  const causal = attrs.causal as boolean;
  const l = (e: string) => loadAs(e, q.dtype, 'f32');
  const ob = mask ? 'b4' : 'b3';
  const m = u.index;
  u.i(Hq, Tq, D, 0, 0, 0, mask ? mask.shape[0] : 0, mask ? mask.shape[1] : 0);
  u.f(attrs.scale as number);
  u.i(split, SPLIT_ATTN.chunk);
  // filled by the caller: Hk, Tk, Dv
  const rowIdx = split ? `i32(idx) / ${w(m + 9)}` : 'i32(idx)';
  const range = split
    ? `let chunk = i32(idx) % ${w(m + 9)}; let jLo = chunk * ${w(m + 10)}; let jHi = min(jEnd, jLo + ${w(m + 10)});`
    : 'let jLo = 0; let jHi = jEnd;';
  const blockMax = sg
    ? 'let bm = max(mx, group_max(s, li, sgi, sgs));'
    : `var bm = mx;
    for (var t = 0; t < cnt; t++) { bm = max(bm, sc[t]); }`;
  const store = split
    ? `let S = ${w(m + 9)}; let rows = i32(${w(0)}) / S;
  for (var c = 0; c < 4; c++) {
    let dv = i32(li) + c * ${WG};
    if (dv < Dv) { out0[${ob} + i32(idx) * Dv + dv] = acc[c]; }
  }
  if (li == 0u) { out0[${ob} + rows * S * Dv + i32(idx)] = mx; out0[${ob} + rows * S * (Dv + 1) + i32(idx)] = sum; }`
    : `for (var c = 0; c < 4; c++) {
    let dv = i32(li) + c * ${WG};
    if (dv < Dv) {
      var r = acc[c] / sum;
      if (sum == 0.0) { r = f_nan(); }
      out0[${ob} + row * Dv + dv] = ${storeFrom('r', 'f32', out.dtype)};
    }
  }`;
  return `let Hq = ${w(m)}; let Tq = ${w(m + 1)}; let D = ${w(m + 2)}; let Hk = ${w(m + 3)}; let Tk = ${w(m + 4)}; let Dv = ${w(m + 5)};
  let scale = bitcast<f32>(${w(m + 8)});
  let row = ${rowIdx};
  let i = row % Tq; let bh = row / Tq; let h = bh % Hq; let b = bh / Hq;
  let kh = h / (Hq / Hk);
  let qo = b0 + row * D;
  let ko = b1 + (b * Hk + kh) * Tk * D;
  let vo = b2 + (b * Hk + kh) * Tk * Dv;
  ${mask ? `let mB = ${w(m + 6)}; let mH = ${w(m + 7)}; let mo = b3 + ((select(b, 0, mB == 1) * mH + select(h, 0, mH == 1)) * Tq + i) * Tk;` : ''}
  let jEnd = ${causal ? 'min(Tk, max(0, i + 1 + Tk - Tq))' : 'Tk'};
  ${range}
  var mx = -f_inf(); var sum = 0.0;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var j0 = jLo; j0 < jHi; j0 += ${WG}) {
    let j = j0 + i32(li);
    var s = -f_inf();
    if (j < jHi) {
      var dot = 0.0;
      for (var d = 0; d < D; d++) { dot += ${l('in0[qo + d]')} * ${l('in1[ko + j * D + d]')}; }
      s = dot * scale${mask ? ` + ${loadAs('in3[mo + j]', mask.dtype, 'f32')}` : ''};
    }
    let cnt = min(${WG}, jHi - j0);
    ${sg ? '' : 'sc[li] = s;\n    workgroupBarrier();\n    '}${blockMax}
    // each thread turns its own score into a probability once; the block's are then read from workgroup memory
    let live = bm > -f_inf();
    let p = select(0.0, exp(s - bm), live);
    workgroupBarrier();
    sc[li] = p;
    workgroupBarrier();
    if (live) {
      let corr = exp(mx - bm);
      sum = sum * corr;
      for (var c = 0; c < 4; c++) { acc[c] = acc[c] * corr; }
      for (var t = 0; t < cnt; t++) {
        let pt = sc[t];
        sum += pt;
        for (var c = 0; c < 4; c++) {
          let dv = i32(li) + c * ${WG};
          if (dv < Dv) { acc[c] += pt * ${l(`in2[vo + (j0 + t) * Dv + dv]`)}; }
        }
      }
      mx = bm;
    }
    workgroupBarrier();
  }
  ${store}`;
}

registerKernel(
  'webgpu',
  'sdpa',
  ([q, k, v, mask], [out], attrs) => {
    const [B, Hq, Tq] = q.shape;
    const [, Hk, Tk] = k.shape;
    const Dv = v.shape[3];
    if (Dv > 4 * WG) throw new UnsupportedError(`sdpa on webgpu supports value dims up to ${4 * WG}, got ${Dv}`);
    const ins = mask ? [q, k, v, mask] : [q, k, v];
    const r = rt();
    const sg = r.useSubgroups;
    const decl = `var<workgroup> sc: array<f32, ${WG}>;${sg ? `\n${groupFnSg('max', WG)}` : ''}`;
    const rows = B * Hq * Tq;
    const fill = (u: Uniforms, at: number) => {
      u.words[at + 3] = Hk;
      u.words[at + 4] = Tk;
      u.words[at + 5] = Dv;
    };
    const S = Math.ceil(Tk / SPLIT_ATTN.chunk);
    if (Tq > SPLIT_ATTN.maxRows || Tk < SPLIT_ATTN.minKeys) {
      if (Tq >= TILED_ATTN.minRows && gemmAttnFits(Hq, Hk, Tq, Tk)) {
        // CPU adapters with the broadcast GEMM: scores by GEMM, softmax rows, P.V by GEMM (./attention-gemm.ts)
        r.variant('sdpa:gemm');
        encodeGemmSdpa(q, k, v, mask, out, attrs);
        return;
      }
      if (Tq >= TILED_ATTN.minRows && tiledAttnFits(q.shape[3], Dv) && (!r.cpuAdapter || TILED_ATTN.onCpu)) {
        // prefill / training: query blocks with K/V tiles in workgroup memory (./attention-tiled.ts)
        r.variant('sdpa:tiled');
        encodeTiledSdpa(q, k, v, mask, out, attrs);
        return;
      }
      r.variant(sg ? 'sdpa:rows-subgroup' : 'sdpa:rows');
      launch(ins, [out], rows, (u) => {
        const at = u.index;
        const b = body(q, mask, out, attrs, 0, sg, u);
        fill(u, at);
        return b;
      }, { perGroup: true, wg: WG, decl, subgroups: sg });
      return;
    }
    // Flash-decoding: partials [rows, S, Dv], then m [rows, S] and l [rows, S], all f32.
    r.variant(sg ? 'sdpa:split-subgroup' : 'sdpa:split');
    withTempF32(rows * S * (Dv + 2), (pv) => {
      launch(ins, [pv], rows * S, (u) => {
        const at = u.index;
        const b = body(q, mask, pv, attrs, S, sg, u);
        fill(u, at);
        return b;
      }, { perGroup: true, wg: WG, decl, subgroups: sg });
      launch([pv], [out], rows * Dv, (u) => {
        const m = u.index;
        u.i(S, Dv, rows);
        return `let S = ${w(m)}; let Dv = ${w(m + 1)}; let rows = ${w(m + 2)};
  let row = i32(idx) / Dv; let dv = i32(idx) % Dv;
  let mo = b0 + rows * S * Dv + row * S; let lo = mo + rows * S;
  var mx = -f_inf();
  for (var c = 0; c < S; c++) { mx = max(mx, in0[mo + c]); }
  var l = 0.0; var o = 0.0;
  if (mx > -f_inf()) {
    for (var c = 0; c < S; c++) {
      let mc = in0[mo + c];
      if (mc > -f_inf()) {
        let e = exp(mc - mx);
        l += in0[lo + c] * e;
        o += in0[b0 + (row * S + c) * Dv + dv] * e;
      }
    }
  }
  var r = o / l;
  if (l == 0.0) { r = f_nan(); }
  out0[b1 + i32(idx)] = ${storeFrom('r', 'f32', out.dtype)};`;
      });
    });
  },
  { dtypes: ['float32', 'float16', 'bfloat16'] },
);
