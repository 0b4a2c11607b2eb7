export { LLAMA_2_7B, parseLlamaConfig, type LlamaConfig } from './config.ts';
export { KVCache, KVCacheError, type KVCacheOptions } from './cache.ts';
export {
  LlamaAttention, LlamaMlp, LlamaDecoderLayer, LlamaModel, LlamaForCausalLM, LlamaInputError,
  type LlamaForwardOptions, type CausalLmOutput,
} from './modeling.ts';
export { causalLmLoss } from './loss.ts';
export { generate, nextToken, topKFilter, topPFilter, type GenerateOptions, type GenerateResult } from './generate.ts';
export { buildLlama7b, loadLlama, llamaKeyFilter } from './build.ts';
