/**
 * cpu-wasm `sdpa` (float32; contract in ops/attention/attention.ts): per batch, query head and block of query rows,
 * scores S = Q K^T by the SIMD GEMM (K read transposed in place), S *= scale, S += the mask rows, causal positions
 * set to -Infinity, an exact softmax per row in WASM (threads split the rows), then out = P V by the SIMD GEMM.
 * Rows that see no key come out NaN, as in the reference.
 */
import type { View } from '../../../backend.ts';
import { isContiguous } from '../../../shape.ts';
import { addr, registerWasmKernel } from '../backend.ts';
import { gemmInto } from './gemm.ts';

/** Query rows per block (the score block is QB x Tk floats). */
const QB = 256;

const dense = (v: View): boolean => v.dtype === 'float32' && isContiguous(v.shape, v.strides);

registerWasmKernel('sdpa', (rt, [q, k, v, mask], [out], attrs) => {
  if (![q, k, v, out].every(dense) || (mask && !dense(mask))) return false;
  const [B, Hq, Tq, D] = q.shape;
  const [, Hk, Tk] = k.shape;
  const Dv = v.shape[3];
  const scale = attrs.scale as number;
  const causal = attrs.causal as boolean;
  const group = Hq / Hk;
  const qb = Math.min(QB, Tq);
  const sBytes = qb * Tk * 4 + 64;
  const S = rt.heap.alloc(sBytes);
  const scalarAt = S + qb * Tk * 4; // one f32 holding `scale`
  try {
    rt.f32()[scalarAt / 4] = scale;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / group);
        const qBase = addr(q) + ((b * Hq + h) * Tq) * D * 4;
        const kBase = addr(k) + ((b * Hk + kh) * Tk) * D * 4;
        const vBase = addr(v) + ((b * Hk + kh) * Tk) * Dv * 4;
        const oBase = addr(out) + ((b * Hq + h) * Tq) * Dv * 4;
        for (let i0 = 0; i0 < Tq; i0 += qb) {
          const m = Math.min(qb, Tq - i0);
          // S [m, Tk] = Q[i0:i0+m] . K^T
          gemmInto(rt, { ptr: qBase + i0 * D * 4, rs: D * 4, cs: 4, t: 'f32' }, { ptr: kBase, rs: 4, cs: D * 4, t: 'f32' }, S, Tk * 4, m, D, Tk);
          rt.fns.bin_mul(S, scalarAt, S, m * Tk, 1);
          if (mask) {
            const [Bm, Hm] = mask.shape;
            const mRow = addr(mask) + (((Bm === 1 ? 0 : b) * Hm + (Hm === 1 ? 0 : h)) * Tq + i0) * Tk * 4;
            rt.fns.bin_add(S, mRow, S, m * Tk, 0);
          }
          if (causal) {
            const f = rt.f32();
            for (let i = 0; i < m; i++) {
              const first = i0 + i + (Tk - Tq) + 1; // keys j >= first are hidden
              if (first < Tk) f.fill(-Infinity, S / 4 + i * Tk + Math.max(0, first), S / 4 + (i + 1) * Tk);
            }
          }
          const parts = Math.max(1, Math.min(rt.active, Math.floor((m * Tk) / 32768)));
          const lists: number[][] = [];
          for (let p = 0; p < parts; p++) {
            const [r0, r1] = [Math.floor((m * p) / parts), Math.floor((m * (p + 1)) / parts)];
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
  return true;
});
