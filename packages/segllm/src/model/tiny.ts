/** Tiny SegLLM configurations (random weights) for tests, benchmarks, the demo and the examples. Real vocabulary, tiny widths. */
import { parseSegLLMConfig } from './config.ts';
import type { SegLLMConfig } from './config.ts';

/** The tiny HIPIE of the models' tests: hidden 32, 2 heads, 2 + 2 layers, 20 + 4 queries, a tiny detectron2 ResNet. */
export const TINY_HIPIE = {
  hidden_dim: 32, nheads: 2, enc_layers: 2, dec_layers: 2, dim_feedforward: 64, num_queries: 20, num_bg_queries: 4,
  vl_hidden_dim: 64, vl_heads: 2, lang_dim: 48, norm_groups: 8,
  backbone: { stem_out_channels: 8, depths: [1, 1, 1, 1], widths: [4, 8, 16, 32] },
};

export interface TinyOptions {
  hidden?: number;
  layers?: number;
  visionLayers?: number;
  /** Side of the decoder's padded square frame (the release uses 1024; a multiple of 32). */
  imageSize?: number;
  vocabSize?: number;
}

/** The config.json of a tiny SegLLM (what saveSegLLM writes next to its weights). */
export function tinySegLLMConfigJson(o: TinyOptions = {}): Record<string, unknown> {
  const hidden = o.hidden ?? 32;
  return {
    architectures: ['SegLLM (tiny, random weights)'],
    vocab_size: o.vocabSize ?? 32011,
    hidden_size: hidden,
    intermediate_size: hidden * 2,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    mm_projector_type: 'mlp2x_gelu',
    mm_hidden_size: 32,
    mm_vision_select_layer: -2,
    segllm_hipie_image_size: o.imageSize ?? 128,
    hipie_config: TINY_HIPIE,
    vision_config: {
      hidden_size: 32, intermediate_size: 64, num_hidden_layers: o.visionLayers ?? 2, num_attention_heads: 4,
      image_size: 224, patch_size: 14, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5,
    },
  };
}

export function tinySegLLMConfig(o: TinyOptions = {}): SegLLMConfig {
  return parseSegLLMConfig(tinySegLLMConfigJson(o));
}
