/** @segllm/tensor: tensors, autograd, nn and optim on CPU and WebGPU, and safetensors I/O. */
import './backends/cpu/backend.ts';
export type {} from './globals.ts';
export * from './ops/index.ts';
export { Tensor, DisposedError, tensor, full, zeros, ones, zerosLike, onesLike, fullLike, arange, linspace, eye, fromStorageArray } from './tensor.ts';
export type { CreateOptions, Nested } from './tensor.ts';
export * from './dtype.ts';
export { ShapeError, broadcastShapes, numel, contiguousStrides, isContiguous, type Shape } from './shape.ts';
export {
  getBackend, registerBackend, setDefaultBackend, defaultBackendName, listBackends, hasBackend, unregisterBackend,
  BackendError, UnsupportedError, type Backend, type Storage, type View, type Attrs, type MemoryStats,
} from './backend.ts';
export { registerKernel, getKernel, kernelNames, type KernelFn, type KernelEntry } from './kernels.ts';
export { tidy, keep, setDebugMemory, liveTensorCount, leakedTensors } from './memory.ts';
export { preview } from './preview.ts';
export { noGrad, enableGrad, isGradEnabled, backward, record, AutogradError, type RecordOptions, type BackwardOptions } from './autograd/engine.ts';
export type { BackwardContext, BackwardFn } from './autograd/node.ts';
export { Generator, defaultGenerator, manualSeed, rand, randn, randint, type RandomOptions } from './random.ts';
export { cpu, CpuBackend } from './backends/cpu/backend.ts';
export { initCpuWasm, shutdownCpuWasm, setCpuWasmThreads, WasmBackend, WasmInitError, WasmMemoryError, WasmWorkerError, type CpuWasmOptions } from './backends/wasm/index.ts';
export { WebGPUBackend, initWebGPU, shutdownWebGPU, backendInfo, memoryStats, precompile, pipelineCodes, WebGPUUnavailableError, type InitOptions, type PipelineStats } from './backends/webgpu/index.ts';
export * from './io/index.ts';
export { NodeOnlyError } from './platform/errors.ts';
export * from './nn/index.ts';
export * from './optim/index.ts';
