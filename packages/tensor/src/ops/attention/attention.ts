/**
 * scaledDotProductAttention with grouped KV heads, causal masking and boolean or additive masks.
 *
 * Causal alignment: query i of Tq may see key j of Tk when j <= i + (Tk - Tq), i.e. the causal triangle is aligned
 * to the bottom-right corner. With Tq == Tk this is torch's is_causal; with Tq < Tk (a decode step over a KV cache)
 * every query sees all cached keys plus those up to its own position. torch's is_causal aligns top-left instead
 * (query i sees keys j <= i), which differs only when Tq != Tk. Rows that see no key at all (every key masked)
 * come out NaN, as in torch's math path.
 *
 * Kernel `sdpa`: inputs [q [B, Hq, Tq, D], k [B, Hk, Tk, D], v [B, Hk, Tk, Dv], (mask [Bm, Hm, Tq, Tk])], all
 * contiguous, same float dtype; the optional mask is additive (0 keeps, -Infinity drops) with Bm in {1, B} and Hm in
 * {1, Hq} (broadcast). attrs {scale: number, causal: boolean}. outputs [out [B, Hq, Tq, Dv]]. Query head h reads kv
 * head floor(h / (Hq / Hk)). The CPU works on blocks of 128 query rows: scores by GEMM, an exact softmax per row (max, exp,
 * sum), then probabilities x values by GEMM; a GPU kernel may use an online softmax per row instead.
 * Backward is a materialised composite (scores, softmax, matmuls), so it needs no kernel of its own.
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { isFloat } from '../../dtype.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { fromStorageArray } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { gemmStrided } from '../matmul/gemm.ts';
import type { F } from '../matmul/gemm-kernel.ts';
import { cast } from '../copy/copy.ts';
import { where } from '../elementwise/elementwise.ts';
import { expand, reshape } from '../movement/views.ts';
import { sumTo, sum } from '../reduce/reduce.ts';
import { softmax } from '../softmax/softmax.ts';

/** Query rows per block: scores for a block are one GEMM [QB, D] x [D, Tk], then one [QB, Tk] x [Tk, Dv]. */
const QB = 128;

registerKernel(
  'cpu',
  'sdpa',
  ([q, k, v, mask], [out], attrs) => {
    const scale = attrs.scale;
    const causal = attrs.causal;
    const [B, Hq, Tq, D] = q.shape;
    const [, Hk, Tk] = k.shape;
    const Dv = v.shape[3];
    const G = Hq / Hk;
    const qa = arr(q) as F;
    const ka = arr(k) as F;
    const va = arr(v) as F;
    const oa = arr(out) as F;
    const ma = mask ? (arr(mask) as F) : null;
    const mB = mask ? mask.shape[0] : 0;
    const mH = mask ? mask.shape[1] : 0;
    const shift = Tk - Tq;
    const P = qa instanceof Float64Array ? new Float64Array(QB * Tk) : new Float32Array(QB * Tk); // [QB, Tk]
    const rowSum = new Float64Array(QB);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / G);
        const kBase = k.offset + (b * Hk + kh) * Tk * D;
        const vBase = v.offset + (b * Hk + kh) * Tk * Dv;
        const mBase = mask ? mask.offset + ((mB === 1 ? 0 : b) * mH + (mH === 1 ? 0 : h)) * Tq * Tk : 0;
        for (let i0 = 0; i0 < Tq; i0 += QB) {
          const rows = Math.min(QB, Tq - i0);
          // Keys any row of this block may see: [0, jMax).
          const jMax = causal ? Math.max(0, Math.min(Tk, i0 + rows + shift)) : Tk;
          const qBase = q.offset + ((b * Hq + h) * Tq + i0) * D;
          const oBase = out.offset + ((b * Hq + h) * Tq + i0) * Dv;
          if (jMax === 0) {
            oa.fill(NaN, oBase, oBase + rows * Dv);
            continue;
          }
          // S = Q_block . K^T  ([rows, jMax], leading dim Tk)
          gemmStrided({ data: qa, offset: qBase, rowStride: D, colStride: 1 }, { data: ka, offset: kBase, rowStride: 1, colStride: D }, P, 0, Tk, rows, D, jMax);
          for (let r = 0; r < rows; r++) {
            const i = i0 + r;
            const jEnd = causal ? Math.max(0, Math.min(Tk, i + shift + 1)) : Tk;
            const pr = r * Tk;
            let m = -Infinity;
            for (let j = 0; j < jEnd; j++) {
              let sc = P[pr + j] * scale;
              if (ma) sc += ma[mBase + i * Tk + j];
              P[pr + j] = sc;
              if (sc > m) m = sc;
            }
            let l = 0;
            if (m === -Infinity) P.fill(0, pr, pr + jMax);
            else {
              for (let j = 0; j < jEnd; j++) {
                const p = Math.exp(P[pr + j] - m);
                P[pr + j] = p;
                l += p;
              }
              P.fill(0, pr + jEnd, pr + jMax);
            }
            rowSum[r] = l;
          }
          // O_block = P . V  ([rows, Dv]), then each row divided by its sum (no visible key: NaN, as torch).
          gemmStrided({ data: P, offset: 0, rowStride: Tk, colStride: 1 }, { data: va, offset: vBase, rowStride: Dv, colStride: 1 }, oa, oBase, Dv, rows, jMax, Dv);
          for (let r = 0; r < rows; r++) {
            const inv = rowSum[r] > 0 ? 1 / rowSum[r] : NaN;
            for (let d = 0; d < Dv; d++) oa[oBase + r * Dv + d] *= inv;
          }
        }
      }
    }
  },
  { dtypes: ['float32', 'float64'] },
);

export interface SdpaOptions {
  /** bool (true = attend) or additive float, broadcastable to [B, Hq, Tq, Tk]. */
  mask?: Tensor | null;
  /** Causal masking aligned to the bottom-right (see the file comment). */
  isCausal?: boolean;
  /** Defaults to 1 / sqrt(D). */
  scale?: number;
}

/** [B, Hk, T, D] -> [B, Hk * G, T, D], repeating each kv head G times (repeat_kv). */
function repeatKv(x: Tensor, G: number): Tensor {
  if (G === 1) return x;
  const [B, Hk, T, D] = x.shape;
  return reshape(expand(reshape(x, [B, Hk, 1, T, D]), [B, Hk, G, T, D]), [B, Hk * G, T, D]);
}

/** An additive [Tq, Tk] bias: 0 where query i may see key j (bottom-right aligned), -Infinity elsewhere. */
function causalBias(Tq: number, Tk: number, like: Tensor): Tensor {
  const a = like.dtype === 'float64' ? new Float64Array(Tq * Tk) : new Float32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) for (let j = i + Tk - Tq + 1; j < Tk; j++) if (j >= 0) a[i * Tk + j] = -Infinity;
  const bias = fromStorageArray(a, [Tq, Tk], like.dtype === 'float64' ? 'float64' : 'float32', { backend: like.backend });
  return like.dtype === bias.dtype ? bias : cast(bias, like.dtype);
}

export class AttentionShapeError extends ShapeError {
  override name = 'AttentionShapeError';
}

/**
 * F.scaled_dot_product_attention(q, k, v) with grouped KV heads: softmax(q k^T * scale + mask) v. Differentiable in
 * q, k, v (and an additive float mask). See the file comment for the causal alignment and fully masked rows.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: SdpaOptions = {}): Tensor {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new AttentionShapeError(`scaledDotProductAttention: q, k, v must be [B, H, T, D], got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  }
  const [B, Hq, Tq, D] = q.shape;
  const [Bk, Hk, Tk, Dk] = k.shape;
  const Dv = v.shape[3];
  if (Bk !== B || v.shape[0] !== B || Dk !== D || v.shape[1] !== Hk || v.shape[2] !== Tk || Hk === 0 || Hq % Hk !== 0) {
    throw new AttentionShapeError(
      `scaledDotProductAttention: incompatible q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}: need k [B, Hk, Tk, D], v [B, Hk, Tk, Dv] with Hq a multiple of Hk`,
    );
  }
  if (!isFloat(q.dtype) || k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new AttentionShapeError(`scaledDotProductAttention: q, k, v must share one float dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const causal = opts.isCausal ?? false;
  const G = Hq / Hk;
  const userMask = opts.mask ?? null;
  if (userMask) {
    const full = [B, Hq, Tq, Tk];
    const fits = userMask.rank <= 4 && userMask.shape.every((s, i) => s === 1 || s === full[4 - userMask.rank + i]);
    if (!fits) {
      throw new AttentionShapeError(`scaledDotProductAttention: mask ${fmtShape(userMask.shape)} does not broadcast to [B, Hq, Tq, Tk] = ${fmtShape([B, Hq, Tq, Tk])}`);
    }
  }
  return tidy(() => {
    // The additive mask as [Bm, Hm, Tq, Tk], contiguous.
    let mask4: Tensor | null = null;
    if (userMask) {
      const add = userMask.dtype === 'bool' ? where(userMask, 0, -Infinity) : userMask;
      const addF = cast(add, q.dtype);
      const r4 = reshape(addF, [...new Array<number>(4 - addF.rank).fill(1), ...addF.shape]);
      mask4 = expand(r4, [r4.shape[0], r4.shape[1], Tq, Tk]).contiguous();
    }
    const ins = [q.contiguous(), k.contiguous(), v.contiguous()];
    if (mask4) ins.push(mask4);
    const [out] = run('sdpa', ins, [{ shape: [B, Hq, Tq, Dv], dtype: q.dtype }], { scale, causal });
    const floatMask = userMask && userMask.dtype !== 'bool' ? userMask : null;
    const inputs = floatMask ? [q, k, v, floatMask] : [q, k, v];
    const maskShape = floatMask?.shape;
    return record(
      'sdpa',
      inputs,
      out,
      (g, ctx) => {
        const [qs, ks, vs] = ctx.inputs;
        const ke = repeatKv(ks, G); // [B, Hq, Tk, D]
        const ve = repeatKv(vs, G); // [B, Hq, Tk, Dv]
        let s = qs.matmul(ke.transpose(-2, -1)).mul(scale); // [B, Hq, Tq, Tk]
        if (ctx.saved.length) s = s.add(ctx.saved[0]);
        if (causal) s = s.add(causalBias(Tq, Tk, s));
        const p = softmax(s, -1); // [B, Hq, Tq, Tk]
        const dve = p.transpose(-2, -1).matmul(g); // [B, Hq, Tk, Dv]
        const dp = g.matmul(ve.transpose(-2, -1)); // [B, Hq, Tq, Tk]
        const ds = p.mul(dp.sub(sum(dp.mul(p), -1, true))); // [B, Hq, Tq, Tk]
        const dq = ds.matmul(ke).mul(scale);
        const dke = ds.transpose(-2, -1).matmul(qs).mul(scale); // [B, Hq, Tk, D]
        const fold = (t: Tensor) => (G === 1 ? t : sum(reshape(t, [B, Hk, G, Tk, t.shape[3]]), 2));
        const grads: (Tensor | null)[] = [dq, fold(dke), fold(dve)];
        if (maskShape) grads.push(sumTo(ds, maskShape));
        return grads;
      },
      { saved: mask4 ? [mask4] : [] },
    );
  });
}
