/**
 * The vision-language early fusion block (VLFuse -> BiAttentionBlockForCheckpoint -> BiMultiHeadAttention;
 * segllm-reference.md 4.4), run once before the first encoder layer. Keys: `b_attn.{layer_norm_v, layer_norm_l,
 * attn.{v_proj, l_proj, values_v_proj, values_l_proj, out_v_proj, out_l_proj}, gamma_v, gamma_l}`.
 *
 * Quirks kept from the code: the residuals are added to the layer-normed inputs (v' = LN_v(v) + gamma_v * dv), the
 * attention logits are clamped to +-50000 and the language softmax subtracts its row maximum (then clamps again);
 * the all-ones language mask is added to the vision logits (+1, a no-op for the softmax, kept for fidelity).
 *
 * Training: upstream builds the block with dropout 0.1 (hard-coded in VLFuse) on both attention-probability maps;
 * the caller passes that Dropout (the training forward does, in training mode), inference passes none.
 */
import { cat, constParam, softmax, tidy } from '@segllm/tensor';
import type { Dropout, Tensor } from '@segllm/tensor';
import { LayerNorm, Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import { tokenChunks } from './config.ts';

type FuseOptions = InitOptions & { tokenChunk?: number };

const CLAMP = 50000;

/** The attention-probability dropout of the fusion in training (VLFuse builds BiAttentionBlockForCheckpoint with 0.1). */
export const VL_ATTN_DROPOUT = 0.1;

export class BiMultiHeadAttention extends Module {
  v_proj: Linear;
  l_proj: Linear;
  values_v_proj: Linear;
  values_l_proj: Linear;
  out_v_proj: Linear;
  out_l_proj: Linear;
  readonly head_dim: number;
  readonly #chunk: number;
  constructor(
    vDim: number,
    lDim: number,
    readonly embed_dim: number,
    readonly num_heads: number,
    opts: FuseOptions = {},
  ) {
    super();
    this.head_dim = embed_dim / num_heads;
    this.#chunk = opts.tokenChunk ?? 0;
    this.v_proj = new Linear(vDim, embed_dim, opts);
    this.l_proj = new Linear(lDim, embed_dim, opts);
    this.values_v_proj = new Linear(vDim, embed_dim, opts);
    this.values_l_proj = new Linear(lDim, embed_dim, opts);
    this.out_v_proj = new Linear(embed_dim, vDim, opts);
    this.out_l_proj = new Linear(embed_dim, lDim, opts);
  }

  /** v [N, S, Cv], l [N, T, Cl] -> [delta_v [N, S, Cv], delta_l [N, T, Cl]]; drop: on both probability maps. */
  forward(v: Tensor, l: Tensor, drop: Dropout | null = null): [Tensor, Tensor] {
    return tidy(() => {
      const [N, S] = v.shape;
      const T = l.shape[1];
      const H = this.num_heads;
      const hd = this.head_dim;
      const heads = (x: Tensor, n: number) => x.reshape([N, n, H, hd]).permute([0, 2, 1, 3]); // [N, H, n, hd]
      const k = heads(this.l_proj.forward(l), T); // [N, H, T, hd]
      const valL = heads(this.values_l_proj.forward(l), T); // [N, H, T, hd]
      const merge = (x: Tensor, n: number) => x.permute([0, 2, 1, 3]).reshape([N, n, this.embed_dim]);
      // Vision side, in token chunks: logits (clamped) and the update from the language values.
      const chunks = tokenChunks(S, this.#chunk);
      const aParts: Tensor[] = [];
      const vParts: Tensor[] = [];
      for (const [s0, n] of chunks) {
        const [a, dv] = tidy(() => {
          const vc = v.narrow(1, s0, n);
          const q = heads(this.v_proj.forward(vc).mul(hd ** -0.5), n); // [N, H, n, hd]
          const ac = q.matmul(k.transpose(-2, -1)).clamp(-CLAMP, CLAMP); // [N, H, n, T]
          const p = softmax(ac.add(1), -1); // [N, H, n, T]
          const aV = drop ? drop.forward(p) : p;
          return [ac, this.out_v_proj.forward(merge(aV.matmul(valL), n))]; // [N, n, Cv]
        });
        aParts.push(a);
        vParts.push(dv);
      }
      const a = aParts.length === 1 ? aParts[0] : cat(aParts, 2); // [N, H, S, T]
      const aT = a.transpose(-2, -1); // [N, H, T, S]
      const pL = softmax(aT.sub(aT.max(-1, true)).clamp(-CLAMP, CLAMP), -1); // [N, H, T, S]
      const aL = drop ? drop.forward(pL) : pL;
      // Language side: sum over the token chunks of aL[..., chunk] @ values_v(chunk).
      let accL: Tensor | null = null; // [N, H, T, hd]
      for (const [s0, n] of chunks) {
        const prev: Tensor | null = accL;
        accL = tidy((): Tensor => {
          const part = aL.narrow(3, s0, n).matmul(heads(this.values_v_proj.forward(v.narrow(1, s0, n)), n)); // [N, H, T, hd]
          return prev ? prev.add(part) : part;
        });
        prev?.dispose();
      }
      const outV = vParts.length === 1 ? vParts[0] : cat(vParts, 1); // [N, S, Cv]
      const outL = this.out_l_proj.forward(merge(accL!, T)); // [N, T, Cl]
      return [outV, outL];
    });
  }
}

export class BiAttentionBlock extends Module {
  layer_norm_v: LayerNorm;
  layer_norm_l: LayerNorm;
  attn: BiMultiHeadAttention;
  gamma_v: Tensor;
  gamma_l: Tensor;
  constructor(vDim: number, lDim: number, embedDim: number, numHeads: number, opts: FuseOptions = {}) {
    super();
    this.layer_norm_v = new LayerNorm(vDim, 1e-5, opts);
    this.layer_norm_l = new LayerNorm(lDim, 1e-5, opts);
    this.attn = new BiMultiHeadAttention(vDim, lDim, embedDim, numHeads, opts);
    this.gamma_v = constParam([vDim], 1 / 6, opts);
    this.gamma_l = constParam([lDim], 1 / 6, opts);
  }
  /** v [N, S, Cv], l [N, T, Cl] -> fused [v', l']. */
  forward(v: Tensor, l: Tensor, drop: Dropout | null = null): [Tensor, Tensor] {
    return tidy(() => {
      const vn = this.layer_norm_v.forward(v);
      const ln = this.layer_norm_l.forward(l);
      const [dv, dl] = this.attn.forward(vn, ln, drop);
      return [vn.add(dv.mul(this.gamma_v)), ln.add(dl.mul(this.gamma_l))];
    });
  }
}

/** VLFuse: holds the block under `b_attn`. */
export class VLFuse extends Module {
  b_attn: BiAttentionBlock;
  constructor(vDim: number, lDim: number, embedDim: number, numHeads: number, opts: FuseOptions = {}) {
    super();
    this.b_attn = new BiAttentionBlock(vDim, lDim, embedDim, numHeads, opts);
  }
  forward(v: Tensor, l: Tensor, drop: Dropout | null = null): [Tensor, Tensor] {
    return this.b_attn.forward(v, l, drop);
  }
}
