/**
 * The `cpu-wasm` backend: every storage is a block of one WebAssembly linear memory, and its `handle` is a typed
 * array over that block, so the readable CPU kernels run on it unchanged (the fallback for every op without a SIMD
 * kernel, no copies) while the SIMD kernels address the same bytes by pointer. After the memory grows, handles are
 * re-created on the new buffer (a non-shared memory detaches the old one).
 */
import type { Backend, MemoryStats, Storage, View } from '../../backend.ts';
import { BackendError, UnsupportedError } from '../../backend.ts';
import type { DType, StorageArray } from '../../dtype.ts';
import { itemSize } from '../../dtype.ts';
import { cpu } from '../cpu/backend.ts';
import { getKernel, kernelNames, type KernelAttrs, type KernelFn, type KernelName, type WasmKernelFn } from '../../kernels.ts';
import type { WasmRuntime } from './runtime.ts';
import { setGemmHook, type GemmHook } from '../../ops/matmul/gemm.ts';

/** SIMD kernels register in the shared registry (kernels.ts) under the backend name 'cpu-wasm'. */
export function wasmKernelNames(): KernelName[] {
  return kernelNames('cpu-wasm');
}

type Ctor = new (buf: ArrayBufferLike, byteOffset: number, length: number) => StorageArray;
function ctorOf(dtype: DType): Ctor {
  switch (dtype) {
    case 'float32':
      return Float32Array;
    case 'float64':
      return Float64Array;
    case 'float16':
    case 'bfloat16':
      return Uint16Array;
    case 'int32':
      return Int32Array;
    case 'uint8':
    case 'bool':
      return Uint8Array;
  }
}

export class WasmStorage implements Storage {
  readonly backend: WasmBackend;
  readonly dtype: DType;
  readonly numel: number;
  /** Byte offset of the block in the linear memory. */
  readonly ptr: number;
  refs = 0;
  freed = false;
  /**
   * float16 storages: whether the words hold no Inf/NaN (null: not known since the last write). Set by a scan
   * (ops/gemm.ts, halfFinite); every write through the backend (upload, an op's output) resets it.
   */
  halfFinite: boolean | null = null;
  /** GEMV reads since the last write (the scan happens on the second, so storages rewritten before every read are never scanned). */
  halfReads = 0;
  #view: StorageArray | null = null;

  constructor(backend: WasmBackend, dtype: DType, numel: number, ptr: number) {
    this.backend = backend;
    this.dtype = dtype;
    this.numel = numel;
    this.ptr = ptr;
  }

  /** Marks the contents as changed (drops what the scans learnt). */
  written(): void {
    this.halfFinite = null;
    this.halfReads = 0;
  }

  /** A typed array over this block (re-created when the memory's buffer changed). */
  get handle(): StorageArray {
    const buf = this.backend.rt.memory.buffer;
    if (this.#view?.buffer !== buf) this.#view = new (ctorOf(this.dtype))(buf, this.ptr, this.numel);
    return this.#view;
  }
}

export class WasmBackend implements Backend {
  readonly name = 'cpu-wasm';
  readonly rt: WasmRuntime;
  /** Ops run by SIMD kernels and by the readable fallback since start (for info()). */
  readonly counts = { simd: 0, fallback: 0 };
  /** Runs per op: by a SIMD kernel, and by the readable fallback. */
  readonly byOp = { simd: new Map<string, number>(), fallback: new Map<string, number>() };

  readonly #hook: GemmHook;

  constructor(rt: WasmRuntime, hook: GemmHook) {
    this.rt = rt;
    this.#hook = hook;
  }

  allocate(dtype: DType, numel: number): Storage {
    const ptr = this.rt.heap.alloc(numel * itemSize(dtype));
    return new WasmStorage(this, dtype, numel, ptr);
  }

  upload(storage: Storage, data: StorageArray): void {
    const s = ws(storage);
    s.written();
    s.handle.set(data);
  }

  download(storage: Storage): Promise<StorageArray> {
    return Promise.resolve(ws(storage).handle);
  }

  readSync(storage: Storage): StorageArray {
    return ws(storage).handle;
  }

  free(storage: Storage): void {
    const s = ws(storage);
    if (s.freed) return;
    s.freed = true;
    this.rt.heap.free(s.ptr, s.numel * itemSize(s.dtype));
  }

  supports(op: KernelName, dtype: DType): boolean {
    return cpu.supports(op, dtype);
  }

  run<K extends KernelName>(op: K, inputs: View[], outputs: View[], attrs: KernelAttrs[K]): void {
    for (const v of outputs) if (v.storage instanceof WasmStorage) v.storage.written();
    const k = getKernel('cpu-wasm', op)?.fn;
    if (k && k(this.rt, inputs, outputs, attrs)) {
      this.counts.simd++;
      this.byOp.simd.set(op, (this.byOp.simd.get(op) ?? 0) + 1);
      return;
    }
    const cpuKernel = getKernel('cpu', op);
    if (!cpuKernel || !cpu.supports(op, inputs[0]?.dtype ?? outputs[0].dtype)) throw new UnsupportedError(`the cpu-wasm backend has no kernel '${op}'`);
    const anyHalf = inputs.some((v) => isHalf(v.dtype)) || outputs.some((v) => isHalf(v.dtype));
    if (anyHalf && !cpuKernel.half) {
      // float16/bfloat16 are storage formats: widen the spans the views cover to f32 in WASM, run the f32 kernel
      // (SIMD when there is one, else readable), round the outputs back.
      this.#runWidened(op, k, cpuKernel.fn, inputs, outputs, attrs);
      return;
    }
    this.counts.fallback++;
    this.byOp.fallback.set(op, (this.byOp.fallback.get(op) ?? 0) + 1);
    // The readable kernel runs on the same memory; its GEMMs go to the SIMD GEMM meanwhile.
    const prev = setGemmHook(this.#hook);
    try {
      cpu.run(op, inputs, outputs, attrs);
    } finally {
      setGemmHook(prev);
    }
  }

  #runWidened<K extends KernelName>(op: K, k: WasmKernelFn<K> | undefined, readable: KernelFn<K>, inputs: View[], outputs: View[], attrs: KernelAttrs[K]): void {
    const temps: { ptr: number; bytes: number; lo: number; len: number; view: View }[] = [];
    const widen = (v: View): View => {
      if (!isHalf(v.dtype)) return v;
      let lo = v.offset;
      let hi = v.offset;
      v.shape.forEach((n, d) => {
        const ext = (n - 1) * v.strides[d];
        if (n === 0) return;
        if (ext < 0) lo += ext;
        else hi += ext;
      });
      const len = v.shape.includes(0) ? 0 : hi - lo + 1;
      const ptr = this.rt.heap.alloc(len * 4);
      temps.push({ ptr, bytes: len * 4, lo, len, view: v });
      if (len > 0) this.rt.fns[`row_to_f32_${v.dtype === 'float16' ? 'f16' : 'bf16'}`](ws(v.storage).ptr + lo * 2, 2, len, ptr);
      const storage = new WasmStorage(this, 'float32', len, ptr);
      return { storage, dtype: 'float32', shape: v.shape, strides: v.strides, offset: v.offset - lo };
    };
    try {
      const ins = inputs.map(widen);
      const outs = outputs.map(widen);
      if (k?.(this.rt, ins, outs, attrs)) {
        this.counts.simd++;
        this.byOp.simd.set(op, (this.byOp.simd.get(op) ?? 0) + 1);
      } else {
        this.counts.fallback++;
        this.byOp.fallback.set(op, (this.byOp.fallback.get(op) ?? 0) + 1);
        const prev = setGemmHook(this.#hook);
        try {
          readable(ins, outs, attrs);
        } finally {
          setGemmHook(prev);
        }
      }
      for (const t of temps.slice(inputs.filter((v) => isHalf(v.dtype)).length)) {
        if (t.len > 0) this.rt.fns[t.view.dtype === 'float16' ? 'f32_to_f16' : 'f32_to_bf16'](t.ptr, ws(t.view.storage).ptr + t.lo * 2, t.len);
      }
    } finally {
      for (const t of temps) this.rt.heap.free(t.ptr, t.bytes);
    }
  }

  memoryStats(): MemoryStats & { maximum: number } {
    return this.rt.heap.stats();
  }

  info(): Record<string, unknown> {
    return {
      backend: this.name,
      threads: this.rt.active,
      threadsStarted: this.rt.threads,
      sharedMemory: this.rt.shared,
      mode: this.rt.pool ? `shared memory, ${this.rt.threads} threads (${isNode() ? 'worker_threads' : 'Web Workers'})` : 'single-threaded (no SharedArrayBuffer, or threads: 1)',
      relaxedSimd: this.rt.fma,
      simdKernels: wasmKernelNames(),
      memory: this.rt.heap.stats(),
      ops: { ...this.counts },
      halfGemv: { scans: this.rt.halfScans, finiteWidening: this.rt.halfFastGemv },
      parallelJobs: this.rt.pool ? { jobs: this.rt.pool.jobs, workerOffersWithdrawn: this.rt.pool.withdrawn } : null,
    };
  }
}

function isHalf(d: DType): boolean {
  return d === 'float16' || d === 'bfloat16';
}

function isNode(): boolean {
  return !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

function ws(s: Storage): WasmStorage {
  if (!(s instanceof WasmStorage)) throw new BackendError(`expected a cpu-wasm storage, got one from '${s.backend.name}'`);
  return s;
}

/** Byte address of a view's element 0 (the view must live on cpu-wasm). */
export function addr(v: View): number {
  return ws(v.storage).ptr + v.offset * itemSize(v.dtype);
}

/** Whether a view lives in the WASM memory. */
export function isWasmView(v: View): boolean {
  return v.storage instanceof WasmStorage;
}
