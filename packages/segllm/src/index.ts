/** @segllm/core: the SegLLM model, its multi-round session API, and release-checkpoint loading. */
export * from './errors.ts';
export * from './conversation/index.ts';
