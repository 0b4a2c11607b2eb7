/**
 * The CPU backend: readable TypeScript kernels over typed arrays, the numerical reference for every other backend.
 * float16/bfloat16 are storage formats here: kernels see them widened to float32 and results are rounded back.
 */
import type { Backend, MemoryStats, Storage, View } from '../../backend.ts';
import { BackendError, UnsupportedError, registerBackend } from '../../backend.ts';
import type { DType, StorageArray } from '../../dtype.ts';
import { allocArray, fromNumbers, itemSize, toFloat32Array } from '../../dtype.ts';
import { getKernel, kernelNames, type KernelAttrs, type KernelName } from '../../kernels.ts';
import { cpuThreads } from '../../ops/matmul/pool.ts';

interface CpuStorage extends Storage {
  handle: StorageArray;
}

const SHARED_MIN = 1 << 14;
const canShare = typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;

function isHalf(d: DType): boolean {
  return d === 'float16' || d === 'bfloat16';
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  #live = 0;

  allocate(dtype: DType, numel: number): Storage {
    let handle: StorageArray;
    if (canShare && numel >= SHARED_MIN) {
      // Large arrays live in shared memory so worker threads can compute on them without copies.
      handle = arrayOn(dtype, new SharedArrayBuffer(numel * itemSize(dtype)), numel);
    } else handle = allocArray(dtype, numel);
    this.#live += numel * itemSize(dtype);
    return { backend: this, dtype, numel, handle, refs: 0 } satisfies CpuStorage;
  }

  upload(storage: Storage, data: StorageArray): void {
    (storage as CpuStorage).handle.set(data);
  }

  download(storage: Storage): Promise<StorageArray> {
    return Promise.resolve((storage as CpuStorage).handle);
  }

  readSync(storage: Storage): StorageArray {
    return (storage as CpuStorage).handle;
  }

  free(storage: Storage): void {
    this.#live -= storage.numel * itemSize(storage.dtype);
  }

  supports(op: KernelName, dtype: DType): boolean {
    const k = getKernel('cpu', op);
    return !!k && (!k.dtypes || k.dtypes.includes(dtype) || (isHalf(dtype) && !k.half && k.dtypes.includes('float32')));
  }

  run<K extends KernelName>(op: K, inputs: View[], outputs: View[], attrs: KernelAttrs[K]): void {
    const k = getKernel('cpu', op);
    if (!k) throw new UnsupportedError(`the cpu backend has no kernel '${op}'`);
    const anyHalf = inputs.some((v) => isHalf(v.dtype)) || outputs.some((v) => isHalf(v.dtype));
    if (!anyHalf || k.half) {
      k.fn(inputs, outputs, attrs);
      return;
    }
    // Widen half inputs and outputs to f32, run, round outputs back.
    const ins = inputs.map((v) => (isHalf(v.dtype) ? widen(v) : v));
    const outs = outputs.map((v) => (isHalf(v.dtype) ? widen(v) : v));
    k.fn(ins, outs, attrs);
    outputs.forEach((v, i) => {
      if (!isHalf(v.dtype)) return;
      (v.storage as CpuStorage).handle.set(fromNumbers(v.dtype, (outs[i].storage as CpuStorage).handle));
    });
  }

  memoryStats(): MemoryStats {
    return { live: this.#live, pooled: 0, allocated: this.#live };
  }

  info(): Record<string, unknown> {
    return { backend: 'cpu', sharedMemory: canShare, threads: cpuThreads(), kernels: kernelNames('cpu').length };
  }
}

function widen(v: View): View {
  const src = (v.storage as CpuStorage).handle;
  const storage: CpuStorage = { backend: v.storage.backend, dtype: 'float32', numel: v.storage.numel, handle: toFloat32Array(v.storage.dtype, src), refs: 1 };
  return { ...v, storage, dtype: 'float32' };
}

function arrayOn(dtype: DType, buf: SharedArrayBuffer, n: number): StorageArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, 0, n);
    case 'float64':
      return new Float64Array(buf, 0, n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf, 0, n);
    case 'int32':
      return new Int32Array(buf, 0, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, 0, n);
  }
}

/** The typed array behind a CPU view's storage (kernels index it with the view's strides and offset). */
export function arr(v: View): StorageArray {
  const h = v.storage.handle;
  if (!ArrayBuffer.isView(h)) throw new BackendError(`expected a cpu storage, got one from '${v.storage.backend.name}'`);
  return h as StorageArray;
}

export const cpu = new CpuBackend();
registerBackend(cpu);
