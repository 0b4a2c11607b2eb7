/**
 * SegLLM's configuration: the LLaVA/LLaMA fields of the release's config.json, the CLIP tower's config (from the
 * tower's own config.json or a `vision_config` entry), and the decoder sizes. Everything is size-driven so the same
 * code builds the 7B release and tiny test models.
 */
import { CLIP_VIT_L14_224, HIPIE_R50, parseClipVisionConfig, parseHipieConfig, parseLlavaConfig } from '@segllm/models';
import type { ClipVisionConfig, HipieConfig, LlavaConfig } from '@segllm/models';
import { preview } from '@segllm/tensor';

export interface SegLLMConfig {
  llava: LlavaConfig;
  vision: ClipVisionConfig;
  /** The mask decoder's sizes (HIPIE-R50 in the release; `hipie_config` in config.json overrides them). */
  hipie: HipieConfig;
  /** Phrase tokens decoded from each `<seg>` (8 x 768: tokens 0-3 reference, 4-7 target). */
  phrase_tokens: number;
  phrase_dim: number;
  /** Side of HIPIE's padded square input (1024 in the release). */
  hipie_image_size: number;
  /** Scale of mask and box encodings at inference (the expectation of the training dropout). */
  encoding_scale: number;
  /** Whether the model reads mask / box encodings at all (false: zeroed in training and inference; Table 8 ablations). */
  mask_encoding: boolean;
  box_encoding: boolean;
  /** Longest conversation in tokens (the release trained with model_max_length 2048). */
  max_length: number;
}

export class SegLLMConfigError extends Error {
  override name = 'SegLLMConfigError';
}

/** Image slots of the first round: the CLIP patch grid (16 x 16 = 256 for ViT-L/14 at 224). */
export function imageSlots(c: SegLLMConfig): number {
  return (c.vision.image_size / c.vision.patch_size) ** 2;
}

/** Parses the release's config.json (LLaMA + mm_* fields); the CLIP config comes from `vision` or `vision_config`. */
export function parseSegLLMConfig(json: unknown, vision?: unknown): SegLLMConfig {
  const llava = parseLlavaConfig(json);
  const obj = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  const v = vision !== undefined ? parseClipVisionConfig(vision) : obj.vision_config !== undefined ? parseClipVisionConfig(obj.vision_config) : CLIP_VIT_L14_224;
  if (v.hidden_size !== llava.mm_hidden_size) {
    throw new SegLLMConfigError(`mm_hidden_size ${llava.mm_hidden_size} does not match the CLIP tower's hidden_size ${v.hidden_size}: pass the tower the checkpoint was trained with (loadSegLLM's visionTower: <folder>, or a vision_config in config.json)`);
  }
  const num = (k: string, d: number) => {
    const x = obj[k];
    if (x === undefined) return d;
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw new SegLLMConfigError(`config field "${k}" must be a positive number, got ${preview(x)}`);
    return x;
  };
  const flag = (k: string) => {
    const x = obj[k];
    if (x !== undefined && typeof x !== 'boolean') throw new SegLLMConfigError(`config field "${k}" must be true or false, got ${JSON.stringify(x)?.slice(0, 40)}`);
    return x !== false;
  };
  const hipie = obj.hipie_config !== undefined ? parseHipieConfig(obj.hipie_config as Record<string, unknown>) : HIPIE_R50;
  return {
    llava,
    vision: v,
    hipie,
    phrase_tokens: num('segllm_phrase_tokens', 8),
    phrase_dim: num('segllm_phrase_dim', hipie.lang_dim),
    hipie_image_size: num('segllm_hipie_image_size', 1024),
    encoding_scale: num('segllm_encoding_scale', 0.5),
    mask_encoding: flag('segllm_mask_encoding'),
    box_encoding: flag('segllm_box_encoding'),
    max_length: Math.min(num('model_max_length', 2048), llava.llm.max_position_embeddings),
  };
}
