/**
 * The DINO-style deformable decoder (DeformableTransformerDecoder; segllm-reference.md 4.6). Keys:
 * `layers.i.{cross_attn, norm1, self_attn (PyTorch MultiheadAttention names), norm2, linear1, linear2, norm3}` and
 * `ref_point_head.layers.{0,1}`. The box heads used for the iterative refinement are the detr's `bbox_embed` list
 * (aliased as decoder.bbox_embed in checkpoints), passed in rather than held, so each tensor has one key.
 *
 * Per layer: query_pos = ref_point_head(sine(ref)); self-attention (q = k = tgt + pos, v = tgt) + add & LN (norm2);
 * deformable cross-attention with 4-D references (query tgt + pos) + add & LN (norm1); FFN + add & LN (norm3); then
 * ref <- sigmoid(bbox_embed[l](h) + inverse_sigmoid(ref)), recorded per layer undetached (look forward twice) and
 * passed to the next layer detached (`reference_points = new_reference_points.detach()` upstream). The first layer's
 * reference (the two-stage selection) is not detached, as upstream. attnMask [Q, Q] (true = may not attend) is the
 * DN mask of the self-attention.
 */
import { MLP, MultiheadAttention, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { LayerNorm, Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { HipieConfig } from './config.ts';
import { MSDeformAttn } from './msdeform.ts';
import type { SpatialShapes } from './msdeform.ts';
import { querySineEmbedding } from './position.ts';

/** inverse_sigmoid(x, eps): log(max(x, eps) / max(1 - x, eps)) after clamping x to [0, 1]. */
export function inverseSigmoid(x: Tensor, eps = 1e-5): Tensor {
  return tidy(() => {
    const c = x.clamp(0, 1);
    return c.clamp(eps, Infinity).div(c.neg().add(1).clamp(eps, Infinity)).log();
  });
}

export class DecoderLayer extends Module {
  cross_attn: MSDeformAttn;
  norm1: LayerNorm;
  self_attn: MultiheadAttention;
  norm2: LayerNorm;
  linear1: Linear;
  linear2: Linear;
  norm3: LayerNorm;
  constructor(c: HipieConfig, opts: InitOptions = {}) {
    super();
    const d = c.hidden_dim;
    this.cross_attn = new MSDeformAttn(d, c.num_feature_levels, c.nheads, c.dec_n_points, opts);
    this.norm1 = new LayerNorm(d, 1e-5, opts);
    this.self_attn = new MultiheadAttention(d, c.nheads, { ...opts, batchFirst: true });
    this.norm2 = new LayerNorm(d, 1e-5, opts);
    this.linear1 = new Linear(d, c.dim_feedforward, opts);
    this.linear2 = new Linear(c.dim_feedforward, d, opts);
    this.norm3 = new LayerNorm(d, 1e-5, opts);
  }
  /** tgt, pos [N, Q, C], ref [N, Q, L, 4], memory [N, S, C] -> [N, Q, C]. */
  forward(tgt: Tensor, pos: Tensor, ref: Tensor, memory: Tensor, shapes: SpatialShapes, attnMask: Tensor | null = null): Tensor {
    return tidy(() => {
      const qk = tgt.add(pos);
      const [sa] = this.self_attn.forward(qk, qk, tgt, { needWeights: false, attnMask });
      let x = this.norm2.forward(tgt.add(sa));
      x = this.norm1.forward(x.add(this.cross_attn.forward(x.add(pos), ref, memory, shapes)));
      return this.norm3.forward(x.add(this.linear2.forward(this.linear1.forward(x).relu())));
    });
  }
}

export interface DecoderOutput {
  /** Decoder output of every layer, each [N, Q, C]. */
  hs: Tensor[];
  /** The refined boxes of every layer (sigmoid space), each [N, Q, 4]. */
  references: Tensor[];
}

export class DeformableDecoder extends Module {
  layers: DecoderLayer[];
  ref_point_head: MLP;
  constructor(readonly config: HipieConfig, opts: InitOptions = {}) {
    super();
    const d = config.hidden_dim;
    this.layers = Array.from({ length: config.dec_layers }, () => new DecoderLayer(config, opts));
    this.ref_point_head = new MLP(2 * d, d, d, 2, opts);
  }
  /** tgt [N, Q, C], ref [N, Q, 4] (sigmoid space), memory [N, S, C]; bboxEmbed: one box MLP per layer; attnMask [Q, Q]. */
  forward(tgt: Tensor, ref: Tensor, memory: Tensor, shapes: SpatialShapes, bboxEmbed: readonly MLP[], attnMask: Tensor | null = null): DecoderOutput {
    return tidy(() => {
      const L = shapes.length;
      const hs: Tensor[] = [];
      const references: Tensor[] = [];
      let out = tgt;
      let cur = ref;
      this.layers.forEach((layer, lid) => {
        const [N, Q] = cur.shape;
        const refIn = cur.unsqueeze(2).expand([N, Q, L, 4]); // [N, Q, L, 4] (valid ratios are 1)
        const pos = this.ref_point_head.forward(querySineEmbedding(cur, this.config.query_sine_feats_per_coord)); // [N, Q, C]
        out = layer.forward(out, pos, refIn, memory, shapes, attnMask);
        const next = bboxEmbed[lid].forward(out).add(inverseSigmoid(cur)).sigmoid(); // [N, Q, 4]
        hs.push(out);
        references.push(next);
        cur = next.detach();
      });
      return { hs, references };
    });
  }
}
