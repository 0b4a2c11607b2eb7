/**
 * Picking where the model runs, without importing @segllm/tensor: `device` 'auto' (WebGPU when an adapter exists,
 * else WebAssembly SIMD), 'webgpu', 'cpu-wasm' or 'cpu' (the readable reference backend), and the parameter dtype.
 */
import { WebGPUUnavailableError, initCpuWasm, initWebGPU } from '@segllm/tensor';
import { InvalidOptionError } from './errors.ts';

export const DEVICES = ['auto', 'webgpu', 'cpu-wasm', 'cpu'] as const;
export type Device = (typeof DEVICES)[number];

/** Parameter dtypes a model can be loaded in (float16 halves the memory; WebGPU computes in it with shader-f16). */
export const MODEL_DTYPES = ['float32', 'float16', 'bfloat16'] as const;
export type ModelDType = (typeof MODEL_DTYPES)[number];

export function checkDevice(device: unknown): Device {
  if (typeof device !== 'string' || !(DEVICES as readonly string[]).includes(device)) throw new InvalidOptionError('device', device, DEVICES);
  return device as Device;
}

export function checkDtype(dtype: unknown): ModelDType {
  if (typeof dtype !== 'string' || !(MODEL_DTYPES as readonly string[]).includes(dtype)) throw new InvalidOptionError('dtype', dtype, MODEL_DTYPES);
  return dtype as ModelDType;
}

/**
 * Starts the device and returns the backend name tensors are created on. 'auto' tries WebGPU, then cpu-wasm, then
 * cpu; an explicit 'webgpu' rejects with WebGPUUnavailableError (saying what to install) when there is no adapter.
 */
export async function initDevice(device: string = 'auto'): Promise<Exclude<Device, 'auto'>> {
  const d = checkDevice(device);
  if (d === 'cpu') return 'cpu';
  if (d === 'webgpu') {
    await initWebGPU();
    return 'webgpu';
  }
  if (d === 'auto') {
    try {
      await initWebGPU();
      return 'webgpu';
    } catch (e) {
      if (!(e instanceof WebGPUUnavailableError)) throw e;
    }
  }
  try {
    await initCpuWasm();
    return 'cpu-wasm';
  } catch (e) {
    if (d === 'cpu-wasm') throw e;
    return 'cpu';
  }
}
