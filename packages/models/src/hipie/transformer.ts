/**
 * DeformableTransformerVLDINO as SegLLM runs it (segllm-reference.md 4.3-4.6): flatten the 4 levels with their
 * position + level embeddings, VL fusion + deformable encoder, two-stage selection (top-k foreground queries behind
 * the learned background queries, whose reference boxes are the raw learned `bg_query_refs`), and the decoder.
 * Keys: level_embed, tgt_embed.weight, tgt_embed_bg.weight, bg_query_refs.weight, enc_output, enc_output_norm,
 * encoder.*, decoder.* (the upstream `resizer` only feeds a x0 term and is skipped on load).
 *
 * Training (DINO denoising): `dn` queries are put in front, [DN (P), background (B), foreground (K)], with their
 * content `dn.label` [N, P, C] and references `dn.refs` [N, P, 4] (sigmoid space), and the decoder self-attention
 * gets `dn.attnMask` [P + B + K, P + B + K] (true = may not attend; see dnAttentionMask in dn.ts).
 */
import { Embedding, cat, gather, normalParam, tidy, topk, where } from '@segllm/tensor';
import type { Dropout, MLP, Tensor } from '@segllm/tensor';
import { LayerNorm, Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { HipieConfig } from './config.ts';
import { DeformableDecoder } from './decoder.ts';
import { DeformableEncoder } from './encoder.ts';
import type { StillClassifier } from './heads.ts';
import type { SpatialShapes } from './msdeform.ts';
import { encoderProposals } from './two-stage.ts';

/** Denoising queries for training (dn.ts builds them). */
export interface DnQueries {
  /** Content queries [N, P, C]. */
  label: Tensor;
  /** Reference boxes [N, P, 4] (sigmoid space). */
  refs: Tensor;
  /** Self-attention mask [P + B + K, P + B + K] (bool, true = may not attend). */
  attnMask: Tensor;
}

/** What only the training forward passes: DN queries and the VL fusion's attention dropout. */
export interface TrainInputs {
  dn?: DnQueries | null;
  dropout?: Dropout | null;
}

export interface TransformerOutput {
  /** Encoder output [N, S, C]. */
  memory: Tensor;
  /** Fused language tokens [N, T, Cl]. */
  lang: Tensor;
  /** Objectness of every encoder token [N, S, 1]. */
  encClass: Tensor;
  /** Box logits of every encoder token [N, S, 4] (+inf for invalid proposals). */
  encCoordUnact: Tensor;
  /** Indices of the selected tokens [N, K] (int32). */
  selected: Tensor;
  /** Reference boxes fed to the first decoder layer [N, P + B + K, 4] (P = DN queries, 0 without). */
  initReference: Tensor;
  /** Refined boxes per decoder layer, each [N, B + K, 4]. */
  references: Tensor[];
  /** Decoder output per layer, each [N, B + K, C]. */
  hs: Tensor[];
}

export class DeformableTransformer extends Module {
  encoder: DeformableEncoder;
  decoder: DeformableDecoder;
  level_embed: Tensor;
  tgt_embed: Embedding;
  tgt_embed_bg: Embedding | null;
  bg_query_refs: Embedding | null;
  enc_output: Linear;
  enc_output_norm: LayerNorm;
  constructor(readonly config: HipieConfig, opts: InitOptions = {}) {
    super();
    const c = config;
    const d = c.hidden_dim;
    this.encoder = new DeformableEncoder(c, opts);
    this.decoder = new DeformableDecoder(c, opts);
    this.level_embed = normalParam([c.num_feature_levels, d], 1, opts);
    this.tgt_embed = new Embedding(c.num_queries, d, opts);
    this.tgt_embed_bg = c.num_bg_queries > 0 ? new Embedding(c.num_bg_queries, d, opts) : null;
    this.bg_query_refs = c.num_bg_queries > 0 ? new Embedding(c.num_bg_queries, 4, opts) : null;
    this.enc_output = new Linear(d, d, opts);
    this.enc_output_norm = new LayerNorm(d, 1e-5, opts);
  }

  /**
   * srcs, pos: per level [N, C, h, w]; lang [N, T, Cl]; objectness = class_embed[dec_layers]; boxHeads = bbox_embed
   * (dec_layers refinement heads, then the encoder's).
   */
  forward(srcs: readonly Tensor[], pos: readonly Tensor[], lang: Tensor, objectness: StillClassifier, boxHeads: readonly MLP[], train: TrainInputs = {}): TransformerOutput {
    const { dn = null, dropout = null } = train;
    return tidy(() => {
      const c = this.config;
      const shapes: [number, number][] = srcs.map((s) => [s.shape[2], s.shape[3]]);
      const N = srcs[0].shape[0];
      const src = cat(srcs.map((s) => s.flatten(2).transpose(1, 2)), 1); // [N, S, C]
      const lvlPos = cat(pos.map((p, l) => p.flatten(2).transpose(1, 2).add(this.level_embed.select(0, l))), 1); // [N, S, C]
      const { memory, lang: fused } = this.encoder.forward(src, lvlPos, lang, shapes, dropout);
      const sel = this.select(memory, shapes, objectness, boxHeads[c.dec_layers]);
      const fg = this.tgt_embed.weight.unsqueeze(0).expand([N, c.num_queries, c.hidden_dim]); // [N, K, C]
      let tgt = fg;
      let ref = sel.refs;
      if (this.tgt_embed_bg && this.bg_query_refs) {
        const B = c.num_bg_queries;
        tgt = cat([this.tgt_embed_bg.weight.unsqueeze(0).expand([N, B, c.hidden_dim]), fg], 1); // [N, B + K, C]
        ref = cat([this.bg_query_refs.weight.unsqueeze(0).expand([N, B, 4]), sel.refs], 1); // [N, B + K, 4]
      }
      if (dn) {
        tgt = cat([dn.label, tgt], 1); // [N, P + B + K, C]
        ref = cat([dn.refs, ref], 1); // [N, P + B + K, 4]
      }
      const { hs, references } = this.decoder.forward(tgt.contiguous(), ref, memory, shapes, boxHeads, dn?.attnMask ?? null);
      return { memory, lang: fused, encClass: sel.encClass, encCoordUnact: sel.encCoordUnact, selected: sel.selected, initReference: ref, references, hs };
    });
  }

  /** Proposals, enc_output + norm, objectness and top-k (num_queries) -> sigmoid boxes [N, K, 4]. */
  select(memory: Tensor, shapes: SpatialShapes, objectness: StillClassifier, boxHead: MLP): { encClass: Tensor; encCoordUnact: Tensor; selected: Tensor; refs: Tensor } {
    return tidy(() => {
      const N = memory.shape[0];
      const K = this.config.num_queries;
      const props = encoderProposals(shapes, memory.backend);
      const outMem = this.enc_output_norm.forward(this.enc_output.forward(where(props.valid, memory, 0))); // [N, S, C]
      const encClass = objectness.forward(outMem); // [N, S, 1]
      const encCoordUnact = boxHead.forward(outMem).add(props.logits.to(memory.dtype)); // [N, S, 4]
      const selected = topk(encClass.squeeze(-1), K, 1).indices; // [N, K]
      const refs = gather(encCoordUnact, 1, selected.unsqueeze(-1).expand([N, K, 4])).sigmoid(); // [N, K, 4]
      return { encClass, encCoordUnact, selected, refs };
    });
  }
}
