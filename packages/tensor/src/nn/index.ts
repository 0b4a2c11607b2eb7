/** nn: modules whose parameter and buffer names are the checkpoint keys, layers, and checkpoint loading. */
export { Module, StateDictError, ModuleError, parameter, buffer, isParameter, assignInto, stateDictEntries, type Layer, type LoadResult, type StateDict } from './module.ts';
export { moveTensor, moveTensorSync } from './move.ts';
export { uniformParam, normalParam, constParam, constBuffer, withoutInit, type ParamInitOptions } from './init.ts';
export { Linear, Identity, Dropout, ReLU, GELU, QuickGELU, SiLU, Sigmoid, Tanh, Embedding, Sequential, MLP } from './layers.ts';
export { LayerNorm, GroupNorm, RMSNorm, BatchNorm2d, FrozenBatchNorm2d } from './norm.ts';
export { Conv2d, type Conv2dLayerOptions } from './conv.ts';
export { MultiheadAttention, type MultiheadAttentionOptions, type AttentionCallOptions } from './attention.ts';
export { CheckpointDTypeError, loadSafetensorsInto, type LoadSafetensorsOptions, type LoadSafetensorsReport } from './load.ts';
