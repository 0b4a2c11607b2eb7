/**
 * SegLLM (LlavaLlamaForCausalLM + the segmentation head) with the release's module tree:
 * `model.{embed_tokens, layers.N, norm}` (LLaMA), `model.mm_projector.{0,2}`, `model.mask_enc_head` (the box
 * encoder: Linear 4 -> D), `model.segmentator_predictor.{0,2}` (D -> D -> GELU -> 8 x 768),
 * `model.vision_tower.vision_tower.vision_model.*` (CLIP), `model.segmentator.hipie.*` (the mask decoder), `lm_head`.
 */
import { LlamaModel, ClipVisionTransformer, KVCache, buildProjector } from '@segllm/models';
import type { Layer, Tensor } from '@segllm/tensor';
import { GELU, Linear, Module, Sequential, cat, noGrad, tidy, zeros } from '@segllm/tensor';
import type { SegLLMConfig } from './config.ts';
import { imageSlots } from './config.ts';
import type { ConversationTemplate } from '../conversation/index.ts';
import { SEGLLM_TEMPLATE } from '../conversation/index.ts';
import type { MaskDecoder } from './decoder.ts';

type InitOptions = ConstructorParameters<typeof Linear>[2];

/** `model.vision_tower.vision_tower` holds the HF CLIPVisionModel(WithProjection), whose transformer is `vision_model`. */
export class ClipTowerHolder extends Module {
  vision_model: ClipVisionTransformer;
  constructor(tower: ClipVisionTransformer) {
    super();
    this.vision_model = tower;
  }
}

export class VisionTower extends Module {
  vision_tower: ClipTowerHolder;
  constructor(tower: ClipVisionTransformer) {
    super();
    this.vision_tower = new ClipTowerHolder(tower);
  }
}

export class Segmentator extends Module {
  hipie: MaskDecoder;
  constructor(decoder: MaskDecoder) {
    super();
    this.hipie = decoder;
  }
}

/** `model.*`: the LLaMA body plus SegLLM's encoders and predictor. */
export class SegLLMBody extends LlamaModel {
  mm_projector: Layer;
  mask_enc_head: Linear;
  segmentator_predictor: Sequential;
  vision_tower: VisionTower;
  segmentator: Segmentator;
  constructor(readonly seg: SegLLMConfig, decoder: MaskDecoder, opts: InitOptions = {}) {
    super(seg.llava.llm, opts);
    const D = seg.llava.llm.hidden_size;
    this.mm_projector = buildProjector(seg.llava.mm_projector_type, seg.llava.mm_hidden_size, D, opts);
    this.mask_enc_head = new Linear(4, D, opts);
    this.segmentator_predictor = new Sequential(new Linear(D, D, opts), new GELU(), new Linear(D, seg.phrase_tokens * seg.phrase_dim, opts));
    this.vision_tower = new VisionTower(new ClipVisionTransformer(seg.vision, opts).freeze());
    this.segmentator = new Segmentator(decoder);
  }
}

export class SegLLMForSegmentation extends Module {
  model: SegLLMBody;
  lm_head: Linear;
  constructor(
    readonly config: SegLLMConfig,
    decoder: MaskDecoder,
    opts: InitOptions = {},
  ) {
    super();
    this.model = new SegLLMBody(config, decoder, opts);
    this.lm_head = new Linear(config.llava.llm.hidden_size, config.llava.llm.vocab_size, { ...opts, bias: false });
  }

  /** The conversation template with this model's image slot count. */
  templateFor(): ConversationTemplate {
    return { ...SEGLLM_TEMPLATE, imageSlots: imageSlots(this.config) };
  }

  /** A growing KV cache for one conversation. */
  makeCache(): KVCache {
    const c = this.config.llava.llm;
    const w = this.lm_head.weight;
    return new KVCache({ numLayers: c.num_hidden_layers, batch: 1, numKvHeads: c.num_key_value_heads, headDim: c.head_dim, dtype: w.dtype, backend: w.backend });
  }

  get clip(): ClipVisionTransformer {
    return this.model.vision_tower.vision_tower.vision_model;
  }

  get decoder(): MaskDecoder {
    return this.model.segmentator.hipie;
  }

  /** CLIP pixels [1, 3, 224, 224] -> the image's slot features [N, D] (layer -2 patches through the projector). */
  encodeImage(pixels: Tensor): Tensor {
    return tidy(() => {
      const f = noGrad(() => this.clip.features(pixels, { selectLayer: this.config.llava.mm_vision_select_layer, selectFeature: 'patch' })); // [1, N, Dv]
      return this.model.mm_projector.forward(f).squeeze(0); // [N, D]
    });
  }

  /** CLIP pixels of a masked crop [B, 3, 224, 224] -> mask encodings [B, D] (layer -2 CLS through the projector, x scale; 0 when the config has no mask encoding). */
  encodeMask(pixels: Tensor, scale = this.config.mask_encoding ? this.config.encoding_scale : 0): Tensor {
    return tidy(() => {
      const f = noGrad(() => this.clip.features(pixels, { selectLayer: this.config.llava.mm_vision_select_layer, selectFeature: 'cls' })); // [B, 1, Dv]
      return this.model.mm_projector.forward(f).squeeze(1).mul(scale); // [B, D]
    });
  }

  /** Boxes [B, 4] as [y0, x0, y1, x1] / size -> box encodings [B, D] (x scale; 0 when the config has no box encoding). */
  encodeBox(boxes: Tensor, scale = this.config.box_encoding ? this.config.encoding_scale : 0): Tensor {
    return tidy(() => this.model.mask_enc_head.forward(boxes).mul(scale));
  }

  /**
   * Input embeddings of a chunk: embed(ids) [1, T, D] with `rows[i]` ([D]) ADDED at chunk position `positions[i]`
   * (the release adds injected features to the `<video>` embedding; see README). Differentiable in the rows.
   */
  embedChunk(ids: Tensor, positions: readonly number[], rows: readonly Tensor[]): Tensor {
    return tidy(() => {
      const E = this.model.embed_tokens.forward(ids); // [1, T, D]
      if (positions.length === 0) return E;
      const T = ids.shape[1];
      const D = this.config.llava.llm.hidden_size;
      const order = positions.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
      const parts: Tensor[] = [];
      let at = 0;
      for (const [p, i] of order) {
        if (p > at) parts.push(zeros([p - at, D], { dtype: E.dtype, backend: E.backend }));
        parts.push(rows[i].reshape([1, D]).to(E.dtype));
        at = p + 1;
      }
      if (at < T) parts.push(zeros([T - at, D], { dtype: E.dtype, backend: E.backend }));
      return E.add(cat(parts, 0).unsqueeze(0)); // [1, T, D]
    });
  }

  /** Hidden states [..., D] before each `<seg>` -> phrase tokens [..., 8, 768]. */
  predictPhrases(h: Tensor): Tensor {
    return tidy(() => {
      const y = this.model.segmentator_predictor.forward(h); // [..., 8 * 768]
      return y.reshape([...h.shape.slice(0, -1), this.config.phrase_tokens, this.config.phrase_dim]);
    });
  }
}
