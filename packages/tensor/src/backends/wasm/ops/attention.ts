/**
 * cpu-wasm `sdpa` (float32; contract in ops/attention/attention.ts). Per batch, query head and block of query rows:
 * scores S = Q K^T by the SIMD GEMM (K read transposed in place), S *= scale, S += the mask rows, causal positions
 * set to -Infinity, an exact softmax per row in WASM, then out = P V by the SIMD GEMM. Rows that see no key come
 * out NaN, as in the reference.
 *
 * Blocked path (Tq >= BLOCKED_MIN_TQ): each block is one call of the WASM function sdpa_block (kernels/attention.ts),
 * and the blocks of all heads are the chunks of one parallel run (threads take the next block; each has its own
 * score buffer), so a whole attention costs one hand-off to the workers instead of three per block. Short query
 * sequences (decode) keep the per-block host loop, whose products go to the GEMV kernels and split their columns.
 */
import type { View } from '../../../backend.ts';
import { isContiguous } from '../../../shape.ts';
import { addr } from '../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { gemmInto } from './gemm.ts';
import { SDPA_SCORES_OFFSET } from '../kernels/attention.ts';
import { MAX_CHUNKS } from '../threads.ts';
import type { WasmRuntime } from '../runtime.ts';

/** Query rows per block (the score block is QB x Tk floats). */
const QB = 256;
/**
 * Query rows per block in the blocked path: each thread works on its own block, and 64 rows keep its score block
 * (64 x Tk) and packed panels within its core's L2 (256 rows measured ~10% slower per CPU second on two threads).
 */
const BLOCK_QB = 64;
/** Query rows from which the blocked path runs (below, the products are GEMV-shaped). */
const BLOCKED_MIN_TQ = 16;
/** Score block bytes per thread at most in the blocked path (smaller query blocks for long key sequences). */
const BLOCK_BYTES = 1 << 20;

const dense = (v: View): boolean => v.dtype === 'float32' && isContiguous(v.shape, v.strides);

interface Sdpa {
  q: View; k: View; v: View; mask: View | undefined; out: View;
  B: number; Hq: number; Hk: number; Tq: number; Tk: number; D: number; Dv: number; scale: number; causal: boolean;
}

/** Byte address of the first mask row of query block i0 of (batch b, head h). */
function maskRow(a: Sdpa, b: number, h: number, i0: number): number {
  const m = a.mask as View;
  const [Bm, Hm] = m.shape;
  return addr(m) + (((Bm === 1 ? 0 : b) * Hm + (Hm === 1 ? 0 : h)) * a.Tq + i0) * a.Tk * 4;
}

function blocked(rt: WasmRuntime, a: Sdpa): void {
  const { B, Hq, Hk, Tq, Tk, D, Dv } = a;
  const group = Hq / Hk;
  const rowsFit = Math.max(4, Math.floor(BLOCK_BYTES / (Tk * 4 * 4)) * 4);
  const qb = Math.min(BLOCK_QB, Tq, rowsFit);
  const threads = rt.pool ? rt.active : 1;
  const area = Math.ceil((SDPA_SCORES_OFFSET + qb * Tk * 4) / 64) * 64;
  const base = rt.heap.alloc(area * threads);
  try {
    const scratch = Array.from({ length: threads }, (_, t) => base + t * area);
    let chunks: number[][] = [];
    const flush = (): void => {
      if (chunks.length) rt.parallel('sdpa_block', chunks, 12, scratch);
      chunks = [];
    };
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / group);
        const qBase = addr(a.q) + (b * Hq + h) * Tq * D * 4;
        const kBase = addr(a.k) + (b * Hk + kh) * Tk * D * 4;
        const vBase = addr(a.v) + (b * Hk + kh) * Tk * Dv * 4;
        const oBase = addr(a.out) + (b * Hq + h) * Tq * Dv * 4;
        for (let i0 = 0; i0 < Tq; i0 += qb) {
          const m = Math.min(qb, Tq - i0);
          const mrow = a.mask ? maskRow(a, b, h, i0) : 0;
          chunks.push([qBase + i0 * D * 4, kBase, vBase, oBase + i0 * Dv * 4, mrow, m, Tk, D, Dv, a.scale, a.causal ? 1 : 0, i0 + (Tk - Tq) + 1, 0]);
          if (chunks.length === MAX_CHUNKS) flush();
        }
      }
    }
    flush();
  } finally {
    rt.heap.free(base, area * threads);
  }
}

function perBlock(rt: WasmRuntime, a: Sdpa): void {
  const { B, Hq, Hk, Tq, Tk, D, Dv } = a;
  const group = Hq / Hk;
  const qb = Math.min(QB, Tq);
  const sBytes = qb * Tk * 4 + 64;
  const S = rt.heap.alloc(sBytes);
  const scalarAt = S + qb * Tk * 4; // one f32 holding `scale`
  try {
    rt.f32()[scalarAt / 4] = a.scale;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / group);
        const qBase = addr(a.q) + ((b * Hq + h) * Tq) * D * 4;
        const kBase = addr(a.k) + ((b * Hk + kh) * Tk) * D * 4;
        const vBase = addr(a.v) + ((b * Hk + kh) * Tk) * Dv * 4;
        const oBase = addr(a.out) + ((b * Hq + h) * Tq) * Dv * 4;
        for (let i0 = 0; i0 < Tq; i0 += qb) {
          const m = Math.min(qb, Tq - i0);
          // S [m, Tk] = Q[i0:i0+m] . K^T
          gemmInto(rt, { ptr: qBase + i0 * D * 4, rs: D * 4, cs: 4, t: 'f32' }, { ptr: kBase, rs: 4, cs: D * 4, t: 'f32' }, S, Tk * 4, m, D, Tk);
          rt.fns.bin_mul(S, scalarAt, S, m * Tk, 1);
          if (a.mask) rt.fns.bin_add(S, maskRow(a, b, h, i0), S, m * Tk, 0);
          if (a.causal) {
            const f = rt.f32();
            for (let i = 0; i < m; i++) {
              const first = i0 + i + (Tk - Tq) + 1; // keys j >= first are hidden
              if (first < Tk) f.fill(-Infinity, S / 4 + i * Tk + Math.max(0, first), S / 4 + (i + 1) * Tk);
            }
          }
          const rows = rt.split(m, 1, Math.ceil(16384 / Tk));
          const lists: number[][] = [];
          for (let p = 0; p + 1 < rows.length; p++) {
            const [r0, r1] = [rows[p], rows[p + 1]];
            if (r1 > r0) lists.push([S + r0 * Tk * 4, S + r0 * Tk * 4, r1 - r0, Tk]);
          }
          rt.parallel('softmax_rows', lists);
          // out[i0:i0+m] = P [m, Tk] . V [Tk, Dv]
          gemmInto(rt, { ptr: S, rs: Tk * 4, cs: 4, t: 'f32' }, { ptr: vBase, rs: Dv * 4, cs: 4, t: 'f32' }, oBase + i0 * Dv * 4, Dv * 4, m, Tk, Dv);
        }
      }
    }
  } finally {
    rt.heap.free(S, sBytes);
  }
}

registerKernel('cpu-wasm', 'sdpa', (rt, [q, k, v, mask], [out], attrs) => {
  if (![q, k, v, out].every(dense) || (mask && !dense(mask))) return false;
  const [B, Hq, Tq, D] = q.shape;
  const [, Hk, Tk] = k.shape;
  const a: Sdpa = { q, k, v, mask, out, B, Hq, Hk, Tq, Tk, D, Dv: v.shape[3], scale: attrs.scale, causal: attrs.causal };
  if (Tq >= BLOCKED_MIN_TQ && Tk > 0 && D > 0 && a.Dv > 0) blocked(rt, a);
  else perBlock(rt, a);
  return true;
});
