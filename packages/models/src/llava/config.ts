/** The LLaVA fields of a LLaVA/SegLLM config.json (besides the LLaMA ones): vision tower, feature selection, projector. */
import { Fields, asConfigObject } from '../checkpoint/config.ts';
import { parseLlamaConfig } from '../llama/config.ts';
import type { LlamaConfig } from '../llama/config.ts';

export type MmProjectorType = 'linear' | 'mlp2x_gelu';

export interface LlavaConfig {
  llm: LlamaConfig;
  mm_vision_tower: string | null;
  /** Index into the CLIP hidden states (-2: the second-to-last layer's output). */
  mm_vision_select_layer: number;
  mm_vision_select_feature: 'patch' | 'cls_patch';
  mm_projector_type: MmProjectorType;
  /** Width of the CLIP features the projector takes (1024 for ViT-L/14). */
  mm_hidden_size: number;
}

/** Parses a LLaVA/SegLLM config.json: the LLaMA fields plus the `mm_*` ones (ConfigError names a bad field). */
export function parseLlavaConfig(input: unknown): LlavaConfig {
  const obj = asConfigObject(input);
  const f = new Fields(obj);
  return {
    llm: parseLlamaConfig(obj),
    mm_vision_tower: f.has('mm_vision_tower') ? f.string('mm_vision_tower') : null,
    mm_vision_select_layer: f.anyInt('mm_vision_select_layer', -2),
    mm_vision_select_feature: f.oneOf('mm_vision_select_feature', ['patch', 'cls_patch'], 'patch'),
    mm_projector_type: f.oneOf('mm_projector_type', ['linear', 'mlp2x_gelu'], 'linear'),
    mm_hidden_size: f.int('mm_hidden_size'),
  };
}
