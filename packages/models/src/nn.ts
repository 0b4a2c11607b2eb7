/** The layers the models are built from (the nn layer of @segllm/tensor), imported in one place. */
export {
  Module, Linear, GELU, Embedding, Sequential, LayerNorm, RMSNorm, FrozenBatchNorm2d, Conv2d,
  StateDictError, loadSafetensorsInto, parameter, buffer,
  type Layer, type ParamInitOptions as InitOptions, type LoadSafetensorsOptions, type LoadSafetensorsReport,
} from '@segllm/tensor';
