/** Builders and checkpoint loading for the CLIP vision tower. */
import type { TensorStore } from '@segllm/tensor';
import type { InitOptions } from '../nn.ts';
import { loadCheckpoint } from '../checkpoint/load.ts';
import type { LoadCheckpointReport } from '../checkpoint/load.ts';
import type { ClipVisionConfig } from './config.ts';
import { CLIP_VIT_L14_224 } from './config.ts';
import { ClipVisionTransformer } from './modeling.ts';

/**
 * Where checkpoints keep the tower: SegLLM/LLaVA (`model.vision_tower.vision_tower.vision_model.`), HF
 * CLIPVisionModel / CLIPModel before transformers 5 (`vision_model.`), transformers 5 CLIPVisionModel (none).
 */
export const CLIP_KEY_PREFIXES = ['model.vision_tower.vision_tower.vision_model.', 'vision_model.', ''] as const;

/** CLIP ViT-L/14 at 224 px (openai/clip-vit-large-patch14), randomly initialised. */
export function buildClipVitL14(opts: InitOptions = {}): ClipVisionTransformer {
  return new ClipVisionTransformer(CLIP_VIT_L14_224, opts);
}

/** Loads a CLIP vision tower's weights (any of CLIP_KEY_PREFIXES; other keys of the file are skipped). */
export function loadClipVision(model: ClipVisionTransformer, source: string | TensorStore, strict = true): Promise<LoadCheckpointReport> {
  return loadCheckpoint(model, source, { prefixes: CLIP_KEY_PREFIXES, strict });
}

export type { ClipVisionConfig };
