/**
 * WebGPU `sdpa` for prefill and training shapes (contract in ops/attention/attention.ts): a FlashAttention-2 style
 * tiled kernel. One workgroup per (batch, query head, block of BQ query rows); each thread owns one query row, its
 * query vector q [D] and output accumulator [Dv] in registers (D and Dv are compiled in, at most 128). The workgroup
 * streams the keys in tiles of BK: the tile's K [BK, D] and V [BK, Dv] are staged in workgroup memory once for all
 * BQ rows, each thread computes its BK scores, and an online softmax per row (running max and sum, the accumulator
 * rescaled when the max grows) folds the tile in. Causal: the key loop stops at the last key the block's last row
 * sees (fully masked tiles are never loaded), rows mask their own tail. Grouped KV heads (query head h reads kv head
 * h / (Hq / Hk)), the bottom-right causal alignment and the additive mask broadcast over batch/heads are those of
 * the row kernel (./attention.ts); a row that sees no key gives NaN, as on the CPU.
 */
import type { View } from '../../../backend.ts';
import type { Uniforms } from '../codegen.ts';
import { loadAs, storeFrom } from '../codegen.ts';
import { launch } from './launch.ts';

/**
 * When the tiled kernel runs: at least `minRows` query rows per head and head dims up to `maxDim`, on GPUs; on CPU
 * adapters (lavapipe) only when `onCpu` (measured: see the README). BQ rows per workgroup, BK keys per tile
 * (halved when D + Dv > 128, keeping the two tiles within 16 KiB of workgroup memory).
 */
export const TILED_ATTN = { minRows: 8, maxDim: 128, onCpu: true, BQ: 64, BK: 32 };

const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;

/** Whether the tiled kernel handles these shapes (head dims within `maxDim`). */
export function tiledAttnFits(D: number, Dv: number): boolean {
  return D <= TILED_ATTN.maxDim && Dv <= TILED_ATTN.maxDim;
}

/** Records the tiled attention dispatch: q [B, Hq, Tq, D], k [B, Hk, Tk, D], v [B, Hk, Tk, Dv], mask?, out. */
export function encodeTiledSdpa(q: View, k: View, v: View, mask: View | undefined, out: View, attrs: Record<string, unknown>): void {
  const [B, Hq, Tq, D] = q.shape;
  const [, Hk, Tk] = k.shape;
  const Dv = v.shape[3];
  const { BQ } = TILED_ATTN;
  const BK = D + Dv > 128 ? TILED_ATTN.BK / 2 : TILED_ATTN.BK;
  const causal = attrs.causal as boolean;
  const l = (e: string) => loadAs(e, q.dtype, 'f32');
  const ins = mask ? [q, k, v, mask] : [q, k, v];
  const ob = mask ? 'b4' : 'b3';
  const nQT = Math.ceil(Tq / BQ);
  const decl = `var<workgroup> ks: array<f32, ${BK * D}>;\nvar<workgroup> vs: array<f32, ${BK * Dv}>;`;
  launch(
    ins,
    [out],
    B * Hq * nQT,
    (u: Uniforms) => {
      const m = u.index;
      u.i(Hq, Tq, Hk, Tk, nQT, mask ? mask.shape[0] : 0, mask ? mask.shape[1] : 0);
      u.f(attrs.scale as number);
      return `let Hq = ${w(m)}; let Tq = ${w(m + 1)}; let Hk = ${w(m + 2)}; let Tk = ${w(m + 3)}; let nQT = ${w(m + 4)};
  let scale = bitcast<f32>(${w(m + 7)});
  let qt = i32(idx) % nQT; let bh = i32(idx) / nQT; let h = bh % Hq; let b = bh / Hq;
  let kh = h / (Hq / Hk);
  let i0 = qt * ${BQ};
  let i = min(i0 + i32(li), Tq - 1);
  let qo = b0 + ((b * Hq + h) * Tq + i) * ${D};
  let ko = b1 + (b * Hk + kh) * Tk * ${D};
  let vo = b2 + (b * Hk + kh) * Tk * ${Dv};
  ${mask ? `let mB = ${w(m + 5)}; let mH = ${w(m + 6)}; let mo = b3 + ((select(b, 0, mB == 1) * mH + select(h, 0, mH == 1)) * Tq + i) * Tk;` : ''}
  // keys row i sees: [0, jEnd); the block's last row sees the most (causal): [0, jHi)
  let jEnd = ${causal ? 'clamp(i + 1 + Tk - Tq, 0, Tk)' : 'Tk'};
  let jHi = ${causal ? `clamp(min(i0 + ${BQ}, Tq) + Tk - Tq, 0, Tk)` : 'Tk'};
  var qv: array<f32, ${D}>;
  for (var d = 0; d < ${D}; d++) { qv[d] = ${l('in0[qo + d]')}; }
  var acc: array<f32, ${Dv}>;
  for (var d = 0; d < ${Dv}; d++) { acc[d] = 0.0; }
  var sc: array<f32, ${BK}>;
  var mx = -f_inf(); var sum = 0.0;
  for (var j0 = 0; j0 < jHi; j0 += ${BK}) {
    workgroupBarrier();
    for (var e = i32(li); e < ${BK * D}; e += ${BQ}) {
      let jj = min(j0 + e / ${D}, Tk - 1);
      ks[e] = ${l(`in1[ko + jj * ${D} + e % ${D}]`)};
    }
    for (var e = i32(li); e < ${BK * Dv}; e += ${BQ}) {
      let jj = min(j0 + e / ${Dv}, Tk - 1);
      vs[e] = ${l(`in2[vo + jj * ${Dv} + e % ${Dv}]`)};
    }
    workgroupBarrier();
    let cnt = min(${BK}, min(jHi, jEnd) - j0);
    var tmax = -f_inf();
    for (var t = 0; t < ${BK}; t++) {
      var s = -f_inf();
      if (t < cnt) {
        var dot = 0.0;
        for (var d = 0; d < ${D}; d++) { dot += qv[d] * ks[t * ${D} + d]; }
        s = dot * scale${mask ? ` + ${loadAs('in3[mo + j0 + t]', mask.dtype, 'f32')}` : ''};
      }
      sc[t] = s;
      tmax = max(tmax, s);
    }
    let bm = max(mx, tmax);
    if (bm > -f_inf()) {
      let corr = exp(mx - bm);
      sum = sum * corr;
      for (var d = 0; d < ${Dv}; d++) { acc[d] = acc[d] * corr; }
      for (var t = 0; t < cnt; t++) {
        let p = exp(sc[t] - bm);
        sum += p;
        for (var d = 0; d < ${Dv}; d++) { acc[d] += p * vs[t * ${Dv} + d]; }
      }
      mx = bm;
    }
  }
  if (i0 + i32(li) < Tq) {
    let oo = ${ob} + ((b * Hq + h) * Tq + i) * ${Dv};
    for (var d = 0; d < ${Dv}; d++) {
      var r = acc[d] / sum;
      if (sum == 0.0) { r = f_nan(); }
      out0[oo + d] = ${storeFrom('r', 'f32', out.dtype)};
    }
  }`;
    },
    { perGroup: true, wg: BQ, decl },
  );
}
