/** CLIPVisionConfig with the HF field names and defaults (transformers CLIPVisionConfig). */
import { Fields, asConfigObject } from '../checkpoint/config.ts';

export type ClipHiddenAct = 'quick_gelu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh';

export interface ClipVisionConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: ClipHiddenAct;
  layer_norm_eps: number;
}

/** openai/clip-vit-large-patch14 (the tower SegLLM uses), 224 px, 256 patches. */
export const CLIP_VIT_L14_224: ClipVisionConfig = {
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  num_channels: 3,
  image_size: 224,
  patch_size: 14,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
};

/**
 * Reads a CLIPVisionConfig from a config.json (text or object): either a vision config itself or a full CLIPConfig
 * whose `vision_config` holds it. Missing fields take HF's defaults (ViT-B/32); wrong ones raise ConfigError.
 */
export function parseClipVisionConfig(input: unknown): ClipVisionConfig {
  const root = new Fields(asConfigObject(input));
  const f = root.sub('vision_config') ?? root;
  const cfg: ClipVisionConfig = {
    hidden_size: f.int('hidden_size', 768),
    intermediate_size: f.int('intermediate_size', 3072),
    num_hidden_layers: f.int('num_hidden_layers', 12),
    num_attention_heads: f.int('num_attention_heads', 12),
    num_channels: f.int('num_channels', 3),
    image_size: f.int('image_size', 224),
    patch_size: f.int('patch_size', 32),
    hidden_act: f.oneOf('hidden_act', ['quick_gelu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh'], 'quick_gelu'),
    layer_norm_eps: f.positive('layer_norm_eps', 1e-5),
  };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    f.fail('num_attention_heads', `${cfg.num_attention_heads} heads do not divide hidden_size ${cfg.hidden_size}`);
  }
  if (cfg.image_size % cfg.patch_size !== 0) f.fail('patch_size', `${cfg.patch_size} does not divide image_size ${cfg.image_size}`);
  return cfg;
}
