/** The WebGPU backend: `await initWebGPU()` registers it as 'webgpu'. Importing this module registers its kernels. */
import './kernels/elementwise.ts';
import './kernels/reduce.ts';
import './kernels/matmul.ts';
import './kernels/adamw.ts';
import './kernels/rows.ts';
import './kernels/indexing.ts';
import './kernels/sort.ts';
import './kernels/attention.ts';
import './kernels/conv.ts';
import './kernels/pool.ts';
import './kernels/sampling.ts';
import './kernels/fused.ts';
export { WebGPUBackend, initWebGPU, shutdownWebGPU, backendInfo, memoryStats, precompile, pipelineCodes } from './backend.ts';
export { WebGPUUnavailableError, type InitOptions } from './device.ts';
export type { BufferReuse, PipelineStats } from './runtime.ts';
export type { WaitMode } from './wait.ts';
