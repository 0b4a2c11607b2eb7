/**
 * torch.nn.MultiheadAttention with PyTorch's checkpoint keys (`in_proj_weight` [3E, E], `in_proj_bias` [3E],
 * `out_proj.weight`, `out_proj.bias`), its default layout (sequence first, [L, N, E]) or batch_first ([N, L, E]),
 * unbatched inputs ([L, E]), a boolean (true = masked out) or additive attn_mask of [L, S] or [N*heads, L, S],
 * and a key_padding_mask [N, S] (boolean true = padding, or additive).
 */
import type { Tensor } from '../tensor.ts';
import { linear, matmul } from '../ops/matmul/matmul.ts';
import { softmax } from '../ops/softmax/softmax.ts';
import { where } from '../ops/elementwise/elementwise.ts';
import { scaledDotProductAttention } from '../ops/attention/attention.ts';
import { tidy } from '../memory.ts';
import type { Generator } from '../random.ts';
import { Module, ModuleError } from './module.ts';
import type { ParamInitOptions } from './init.ts';
import { constParam, uniformParam } from './init.ts';
import { Dropout, Linear } from './layers.ts';

export interface MultiheadAttentionOptions extends ParamInitOptions {
  bias?: boolean;
  batchFirst?: boolean;
  /** Dropout on the attention weights in training mode. */
  dropout?: number;
  dropoutGenerator?: Generator;
}

export interface AttentionCallOptions {
  /** [N, S]: true (or -inf) where a key is padding. */
  keyPaddingMask?: Tensor | null;
  /** [L, S] or [N*heads, L, S]: true where attention is not allowed, or an additive float mask. */
  attnMask?: Tensor | null;
  /** Return the attention weights (default true, as PyTorch). */
  needWeights?: boolean;
  /** Average the returned weights over heads (default true). */
  averageAttnWeights?: boolean;
}

export class MultiheadAttention extends Module {
  in_proj_weight: Tensor;
  in_proj_bias: Tensor | null;
  out_proj: Linear;
  readonly head_dim: number;
  readonly batch_first: boolean;
  readonly #drop: Dropout;

  constructor(
    readonly embed_dim: number,
    readonly num_heads: number,
    opts: MultiheadAttentionOptions = {},
  ) {
    super();
    if (embed_dim % num_heads !== 0) throw new ModuleError(`MultiheadAttention: embed_dim ${embed_dim} is not divisible by num_heads ${num_heads}`);
    this.head_dim = embed_dim / num_heads;
    this.batch_first = opts.batchFirst ?? false;
    // xavier_uniform_ on [3E, E]: bound = sqrt(6 / (E + 3E)).
    this.in_proj_weight = uniformParam([3 * embed_dim, embed_dim], Math.sqrt(6 / (4 * embed_dim)), opts);
    const bias = opts.bias ?? true;
    this.in_proj_bias = bias ? constParam([3 * embed_dim], 0, opts) : null;
    this.out_proj = new Linear(embed_dim, embed_dim, { ...opts, bias });
    if (this.out_proj.bias) {
      this.out_proj.bias.dispose();
      this.out_proj.bias = constParam([embed_dim], 0, opts);
    }
    this.#drop = new Dropout(opts.dropout ?? 0, opts.dropoutGenerator);
  }

  /** Returns [output like query, weights [N, L, S] (or [N, heads, L, S] unaveraged; null unless needWeights)]. */
  forward(query: Tensor, key: Tensor, value: Tensor, o: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    this.#drop.training = this.training;
    const E = this.embed_dim;
    const H = this.num_heads;
    const hd = this.head_dim;
    const unbatched = query.rank === 2;
    if (query.rank !== 2 && query.rank !== 3) throw new ModuleError(`MultiheadAttention expects [L, E] or 3-d inputs, got rank ${query.rank}`);
    if (query.shape[query.rank - 1] !== E) throw new ModuleError(`MultiheadAttention: query has ${query.shape[query.rank - 1]} features, expected ${E}`);
    return tidy(() => {
      // To [N, L, E].
      const toNLE = (t: Tensor) => (unbatched ? t.unsqueeze(0) : this.batch_first ? t : t.transpose(0, 1));
      const q0 = toNLE(query);
      const k0 = toNLE(key);
      const v0 = toNLE(value);
      const [N, L] = q0.shape;
      const S = k0.shape[1];
      if (k0.shape[0] !== N || v0.shape[0] !== N || v0.shape[1] !== S) {
        throw new ModuleError(`MultiheadAttention: query ${JSON.stringify(query.shape)}, key ${JSON.stringify(key.shape)} and value ${JSON.stringify(value.shape)} disagree on batch or source length`);
      }
      const [wq, wk, wv] = this.in_proj_weight.split(E, 0);
      const [bq, bk, bv] = this.in_proj_bias ? this.in_proj_bias.split(E, 0) : [null, null, null];
      const heads = (t: Tensor, len: number) => t.reshape([N, len, H, hd]).transpose(1, 2); // [N, H, len, hd]
      const q = heads(linear(q0, wq, bq), L).mul(Math.sqrt(1 / hd));
      const k = heads(linear(k0, wk, bk), S);
      const v = heads(linear(v0, wv, bv), S);
      const needWeights = o.needWeights ?? true;
      // Masks as additive float tensors broadcastable to [N, H, L, S] (boolean true = masked out, as PyTorch's MHA).
      const additive = (m: Tensor, shape4: number[]) => {
        const r = m.reshape(shape4);
        return m.dtype === 'bool' ? where(r, -Infinity, 0).to(q.dtype) : r.to(q.dtype);
      };
      const masks: Tensor[] = [];
      if (o.attnMask) masks.push(additive(o.attnMask, o.attnMask.rank === 2 ? [1, 1, L, S] : [N, H, L, S]));
      if (o.keyPaddingMask) masks.push(additive(o.keyPaddingMask, [N, 1, 1, S]));
      const mask = masks.length === 2 ? masks[0].add(masks[1]) : (masks[0] ?? null);
      let ctxHeads: Tensor; // [N, H, L, hd]
      let attn: Tensor | null = null; // [N, H, L, S]
      const dropping = this.training && this.#drop.p > 0;
      if (!needWeights && !dropping && q.backend.supports('sdpa', q.dtype)) {
        // The fused kernel never materialises all the scores at once (q is already scaled).
        ctxHeads = scaledDotProductAttention(q, k, v, { mask, scale: 1 });
      } else {
        let scores = matmul(q, k.transpose(-2, -1)); // [N, H, L, S]
        if (mask) scores = scores.add(mask);
        attn = this.#drop.forward(softmax(scores, -1)); // [N, H, L, S], after dropout as PyTorch returns it
        ctxHeads = matmul(attn, v);
      }
      const ctx = ctxHeads.transpose(1, 2).reshape([N, L, E]); // [N, L, E]
      const out0 = this.out_proj.forward(ctx);
      const out = unbatched ? out0.squeeze(0) : this.batch_first ? out0 : out0.transpose(0, 1);
      let weights: Tensor | null = null;
      if (needWeights && attn) {
        const w = (o.averageAttnWeights ?? true) ? attn.mean(1) : attn;
        weights = unbatched ? w.squeeze(0) : w;
      }
      return [out, weights] as [Tensor, Tensor | null];
    });
  }
}
