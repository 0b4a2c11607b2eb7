/** Builders and checkpoint loading for LLaMA. */
import type { TensorStore } from '@segllm/tensor';
import type { InitOptions } from '../nn.ts';
import { loadCheckpoint } from '../checkpoint/load.ts';
import type { LoadCheckpointReport } from '../checkpoint/load.ts';
import { LLAMA_2_7B } from './config.ts';
import type { LlamaConfig } from './config.ts';
import { LlamaForCausalLM } from './modeling.ts';

/** LLaMA-2-7B (SegLLM: vocab_size 32011), randomly initialised; load weights with loadLlama. */
export function buildLlama7b(opts: InitOptions = {}, overrides: Partial<LlamaConfig> = {}): LlamaForCausalLM {
  return new LlamaForCausalLM({ ...LLAMA_2_7B, ...overrides }, opts);
}

/** LLaVA/SegLLM modules stored beside the LLM under `model.` (vision tower, projector, box encoder, HIPIE, ...). */
const NON_LLM = /^model\.(mm_projector|vision_tower|segmentator|segmentator_predictor|mask_enc_head)\./;

/** Skips the LLaVA/SegLLM non-LLM keys of a checkpoint (the LLM keys are HF's own). */
export function llamaKeyFilter(key: string): string | null {
  return NON_LLM.test(key) ? null : key;
}

/** Loads a LLaMA (or LLaVA/SegLLM) checkpoint's LLM weights: single file, sharded index, or folder. */
export function loadLlama(model: LlamaForCausalLM, source: string | TensorStore, strict = true): Promise<LoadCheckpointReport> {
  return loadCheckpoint(model, source, { prefixes: [''], rename: llamaKeyFilter, strict });
}
