/**
 * The `cpu-wasm` backend: WebAssembly SIMD kernels generated at startup by a small emitter (./emit), tensors in one
 * WASM linear memory, worker threads sharing it where SharedArrayBuffer is available. `await initCpuWasm()` builds
 * and registers it; then `tensor(..., { backend: 'cpu-wasm' })` or `setDefaultBackend('cpu-wasm')`.
 */
import { getBackend, hasBackend, registerBackend, unregisterBackend } from '../../backend.ts';
import { WasmBackend } from './backend.ts';
import { WasmInitError, WasmRuntime, type CpuWasmOptions } from './runtime.ts';
import { gemmHook } from './ops/gemm.ts';
import './ops/rows.ts';
import './ops/conv.ts';
import './ops/attention.ts';

export { WasmBackend, WasmStorage, wasmKernelNames } from './backend.ts';
export { WasmInitError, type CpuWasmOptions } from './runtime.ts';
export { WasmMemoryError } from './heap.ts';
export { WasmWorkerError } from './threads.ts';

let pending: Promise<WasmBackend> | null = null;

/** Builds the kernels, the memory and the worker pool, and registers the `cpu-wasm` backend (idempotent). */
export function initCpuWasm(opts: CpuWasmOptions = {}): Promise<WasmBackend> {
  pending ??= (async () => {
    const rt = await WasmRuntime.create(opts);
    const b = new WasmBackend(rt, gemmHook(rt));
    registerBackend(b);
    return b;
  })();
  pending.catch(() => (pending = null));
  return pending;
}

/**
 * Sets how many threads cpu-wasm kernels use (1 to the number started by initCpuWasm); returns the previous count.
 * Throws when the backend is not initialised.
 */
export function setCpuWasmThreads(n: number): number {
  if (!hasBackend('cpu-wasm')) throw new WasmInitError('cpu-wasm is not initialised: await initCpuWasm() first');
  const rt = (getBackend('cpu-wasm') as WasmBackend).rt;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setCpuWasmThreads: expected an integer >= 1, got ${n}`);
  const prev = rt.active;
  rt.active = Math.min(n, rt.threads);
  return prev;
}

/** Stops the workers and unregisters the backend (tensors on it become unusable). */
export async function shutdownCpuWasm(): Promise<void> {
  if (!pending) return;
  const b = await pending;
  pending = null;
  if (hasBackend('cpu-wasm') && getBackend('cpu-wasm') === b) unregisterBackend('cpu-wasm');
  b.rt.dispose();
}


