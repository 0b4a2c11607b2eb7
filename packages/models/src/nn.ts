/**
 * The layers the models are built from, imported in one place (the nn layer of @segllm/tensor).
 */
export {
  Module, Linear, GELU, Embedding, Sequential, LayerNorm, RMSNorm, FrozenBatchNorm2d, Conv2d,
  StateDictError, loadSafetensorsInto, parameter, buffer,
  type Layer, type InitOptions, type LoadSafetensorsOptions, type LoadSafetensorsReport,
} from '../../tensor/src/nn/index.ts';
