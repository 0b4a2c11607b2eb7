/**
 * The WebGPU backend: storages are pooled GPU buffers (see ./codegen.ts for the per-dtype storage formats), kernels
 * are WGSL registered under the backend name 'webgpu' (./kernels/*), work is batched by ./runtime.ts.
 * `initWebGPU()` creates the one device of the process lazily and registers the backend; `shutdownWebGPU()` (and
 * process exit) destroys it.
 */
import type { Backend, MemoryStats, Storage, View } from '../../backend.ts';
import { BackendError, UnsupportedError, registerBackend, unregisterBackend } from '../../backend.ts';
import type { DType, StorageArray } from '../../dtype.ts';
import { allocArray, itemSize } from '../../dtype.ts';
import { getKernel, kernelNames, type KernelAttrs, type KernelFn, type KernelName } from '../../kernels.ts';
import type { GpuBuf, GpuRuntime, PipelineStats } from './runtime.ts';
import type { InitOptions } from './device.ts';
import { noGrad } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { sizeClass } from './runtime.ts';
import { createRuntime } from './device.ts';
import { storageType } from './codegen.ts';

export interface WebGPUStorage extends Storage {
  /** The buffer (the first chunk when split). */
  handle: GpuBuf;
  /** Set when the storage is larger than one binding allows: consecutive element ranges, one buffer each. */
  chunks?: Chunk[];
}

export interface Chunk {
  buf: GpuBuf;
  /** First element and element count. */
  start: number;
  count: number;
}

/** The chunks of a split storage (undefined for ordinary ones). */
export const chunksOf = (v: View): Chunk[] | undefined => (v.storage as WebGPUStorage).chunks;

/** A view of `v`'s data inside chunk `c` (shape and strides as given, element offset local to the chunk). */
export function chunkView(v: View, c: Chunk, shape: readonly number[], offset: number, strides: readonly number[] = v.strides): View {
  const storage: WebGPUStorage = { backend: v.storage.backend, dtype: v.storage.dtype, numel: c.count, handle: c.buf, refs: 1 };
  return { storage, dtype: v.dtype, shape, strides, offset };
}

/** Whether a view's elements are consecutive in its storage (row-major, any offset). */
function isContiguous(v: View): boolean {
  let expect = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== expect) return false;
    expect *= v.shape[i];
  }
  return true;
}

/** Kernels that handle storages split across buffers themselves, and which of their inputs may be split. */
const CHUNK_AWARE = new Map<KernelName, number>([
  ['matmul', 1], // B = W^T of a row-major weight (linear, lm_head)
  ['matmul_bias_act', 1], // the same, with the fused bias/activation epilogue (linear with a bias)
  ['index_select', 0], // the table (embedding)
]);
let chunkLimitOverride: number | null = null;

/** Testing hook: split storages above `bytes` (null restores the adapter's maxStorageBufferBindingSize). */
export function setChunkLimitForTesting(bytes: number | null): void {
  chunkLimitOverride = bytes;
}

/**
 * Elements per chunk of a split storage: the most whole rows of `row` elements (1 for 1-d data, then a multiple of
 * 16) whose pooled size class still fits in `limit` bytes. Throws when not even one row fits.
 */
export function chunkElements(limit: number, item: number, row: number): number {
  // The largest size class <= limit: any request up to it is pooled in a buffer no larger than the limit.
  const p = 2 ** Math.floor(Math.log2(limit));
  const cap = limit <= 4096 ? p : Math.floor(limit / (p / 4)) * (p / 4);
  const unit = row > 1 ? row : 16;
  const per = Math.floor(cap / item / unit) * unit;
  if (per < unit) {
    throw new UnsupportedError(
      `one row of ${row} elements (${row * item} bytes) is larger than a GPU storage buffer may be (${limit} bytes): reshape the tensor so that its last dim is smaller`,
    );
  }
  return per;
}

/** Bytes per element on the GPU (bool/uint8 widen to u32, bfloat16 to f32). */
export function gpuItemSize(d: DType): number {
  return storageType(d) === 'f16' ? 2 : 4;
}

let runtime: GpuRuntime | null = null;

/** The live runtime (kernels call this); throws when the backend is not initialised. */
export function rt(): GpuRuntime {
  if (!runtime || runtime.destroyed) throw new BackendError('the WebGPU backend is not initialised: call initWebGPU() first');
  return runtime;
}

export const bufOf = (v: View): GpuBuf => (v.storage as WebGPUStorage).handle;

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  readonly runtime: GpuRuntime;

  constructor(r: GpuRuntime) {
    this.runtime = r;
  }

  allocate(dtype: DType, numel: number, shape?: readonly number[]): Storage {
    if (!this.#dtypeOk(dtype)) throw new UnsupportedError(`the webgpu backend cannot store ${dtype}${dtype === 'float16' ? " (the adapter lacks 'shader-f16')" : ''}: cast to float32 first`);
    const item = gpuItemSize(dtype);
    const limit = this.bindingLimit();
    if (sizeClass(Math.max(4, numel * item)) <= limit) {
      const handle = this.runtime.acquire(Math.max(4, numel * item));
      return { backend: this, dtype, numel, handle, refs: 0 } satisfies WebGPUStorage;
    }
    // Larger than one binding: consecutive chunks of `per` elements, each holding whole rows of the last dim (so a
    // row-major weight W [N, K] used as W^T by matmul binds row ranges), or multiples of 16 elements for 1-d data.
    const per = chunkElements(limit, item, shape && shape.length >= 2 ? shape[shape.length - 1] : 1);
    const chunks: Chunk[] = [];
    for (let start = 0; start < numel; start += per) {
      const count = Math.min(per, numel - start);
      chunks.push({ buf: this.runtime.acquire(count * item), start, count });
    }
    const st: WebGPUStorage = { backend: this, dtype, numel, handle: chunks[0].buf, chunks, refs: 0 };
    return st;
  }

  /** The most bytes one storage buffer may hold (maxStorageBufferBindingSize and maxBufferSize, or the test override). */
  bindingLimit(): number {
    const l = this.runtime.limits;
    return chunkLimitOverride ?? Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
  }

  #dtypeOk(d: DType): boolean {
    return d !== 'float64' && (d !== 'float16' || this.runtime.hasF16);
  }

  upload(storage: Storage, data: StorageArray): void {
    const chunks = (storage as WebGPUStorage).chunks;
    if (chunks) {
      for (const c of chunks) this.#upload(c.buf, storage.dtype, data.subarray(c.start, c.start + c.count));
      return;
    }
    this.#upload((storage as WebGPUStorage).handle, storage.dtype, data);
  }

  #upload(b: GpuBuf, dtype: DType, data: StorageArray): void {
    let words: ArrayBufferView = data;
    if (dtype === 'bool' || dtype === 'uint8') words = Uint32Array.from(data as Uint8Array);
    else if (dtype === 'bfloat16') {
      const u = new Uint32Array(data.length);
      for (let i = 0; i < data.length; i++) u[i] = (data[i] & 0xffff) << 16;
      words = u;
    }
    this.runtime.write(b, words);
  }

  async download(storage: Storage): Promise<StorageArray> {
    const chunks = (storage as WebGPUStorage).chunks;
    if (chunks) {
      const out = allocArray(storage.dtype, storage.numel);
      for (const c of chunks) out.set(await this.#download(c.buf, storage.dtype, c.count), c.start);
      return out;
    }
    return this.#download((storage as WebGPUStorage).handle, storage.dtype, storage.numel);
  }

  async #download(buf: GpuBuf, dtype: DType, n: number): Promise<StorageArray> {
    const out = allocArray(dtype, n);
    if (n === 0) return out;
    const bytes = await this.runtime.read(buf, n * gpuItemSize(dtype));
    switch (dtype) {
      case 'bool':
      case 'uint8':
        out.set(new Uint32Array(bytes));
        break;
      case 'bfloat16': {
        const u = new Uint32Array(bytes);
        for (let i = 0; i < n; i++) out[i] = u[i] >>> 16;
        break;
      }
      default:
        new Uint8Array(out.buffer, out.byteOffset, n * itemSize(dtype)).set(new Uint8Array(bytes));
    }
    return out;
  }

  free(storage: Storage): void {
    const chunks = (storage as WebGPUStorage).chunks;
    if (chunks) for (const c of chunks) this.runtime.release(c.buf);
    else this.runtime.release((storage as WebGPUStorage).handle);
  }

  supports(op: KernelName, dtype: DType): boolean {
    const k = getKernel('webgpu', op);
    return !!k && this.#dtypeOk(dtype) && (!k.dtypes || k.dtypes.includes(dtype));
  }

  run<K extends KernelName>(op: K, inputs: View[], outputs: View[], attrs: KernelAttrs[K]): void {
    const k = getKernel('webgpu', op);
    if (!k) throw new UnsupportedError(`the webgpu backend has no kernel '${op}'`);
    // (plain loops: this runs once per op, and small ops are dominated by such per-dispatch costs)
    if (op === 'copy' && ((inputs[0].storage as WebGPUStorage).chunks || (outputs[0].storage as WebGPUStorage).chunks)) {
      this.#copySplit(k.fn as KernelFn<'copy'>, inputs[0], outputs[0]);
      return;
    }
    const splitOk = CHUNK_AWARE.get(op);
    let aliased = false;
    for (let i = 0; i < inputs.length + outputs.length; i++) {
      const st = (i < inputs.length ? inputs[i] : outputs[i - inputs.length]).storage as WebGPUStorage;
      if (st.chunks && i !== splitOk) {
        throw new UnsupportedError(
          `'${op}' cannot use a tensor split across GPU buffers (larger than maxStorageBufferBindingSize) in that place: only the weight of matmul/linear (lm_head) and the table of index_select (embedding) may be split; slice it into smaller tensors first`,
        );
      }
      if (i < inputs.length) for (const o of outputs) if (o.storage === st) aliased = true;
    }
    if (!aliased) {
      k.fn(inputs, outputs, attrs);
      return;
    }
    // A storage bound for writing may not also be bound for reading: read aliased inputs from a copy.
    const written = new Set(outputs.map((v) => v.storage));
    const temps: GpuBuf[] = [];
    const ins = inputs.map((v) => {
      if (!written.has(v.storage)) return v;
      const src = bufOf(v);
      const tmp = this.runtime.acquire(src.size);
      this.runtime.copy(src, 0, tmp, 0, src.size);
      temps.push(tmp);
      return { ...v, storage: { ...v.storage, handle: tmp } };
    });
    k.fn(ins, outputs, attrs);
    for (const t of temps) this.runtime.release(t);
  }

  /**
   * `copy` (casts, contiguous(), loading weights with copyInto) where either side is split across buffers: both
   * views contiguous; the copy kernel runs once per overlap of a source and a destination chunk, as flat ranges.
   */
  #copySplit(fn: KernelFn<'copy'>, src: View, dst: View): void {
    if (src.storage === dst.storage || !isContiguous(src) || !isContiguous(dst)) {
      throw new UnsupportedError(
        `copying ${src.storage === dst.storage ? 'within' : 'a strided view of'} a tensor split across GPU buffers (larger than maxStorageBufferBindingSize) is not supported: only contiguous copies between two tensors (casts, loading weights)`,
      );
    }
    const n = dst.shape.reduce((a, d) => a * d, 1);
    const whole = (v: View): Chunk[] => (v.storage as WebGPUStorage).chunks ?? [{ buf: bufOf(v), start: 0, count: v.storage.numel }];
    for (const d of whole(dst)) {
      for (const c of whole(src)) {
        // logical element range [lo, hi) held by both chunks
        const lo = Math.max(0, d.start - dst.offset, c.start - src.offset);
        const hi = Math.min(n, d.start + d.count - dst.offset, c.start + c.count - src.offset);
        if (hi <= lo) continue;
        fn([chunkView(src, c, [hi - lo], src.offset + lo - c.start, [1])], [chunkView(dst, d, [hi - lo], dst.offset + lo - d.start, [1])], {});
      }
    }
  }

  sync(): Promise<void> {
    return this.runtime.sync();
  }

  memoryStats(): MemoryStats {
    return this.runtime.memoryStats();
  }

  info(): Record<string, unknown> {
    return backendInfo();
  }
}

let backend: WebGPUBackend | null = null;
let initializing: Promise<WebGPUBackend> | null = null;
let exitHooked = false;

/**
 * Creates the process's WebGPU device (once) and registers the backend as 'webgpu'. Rejects with a
 * WebGPUUnavailableError that says how to get an adapter when there is none.
 */
export function initWebGPU(opts: InitOptions = {}): Promise<WebGPUBackend> {
  if (backend && !backend.runtime.destroyed) return Promise.resolve(backend);
  initializing ??= (async () => {
    try {
      runtime = await createRuntime(opts);
      if (opts.bufferReuse) runtime.reuse = opts.bufferReuse;
      backend = new WebGPUBackend(runtime);
      registerBackend(backend);
      const proc = (globalThis as { process?: { once?(ev: string, f: () => void): void } }).process;
      if (!exitHooked && proc?.once) {
        exitHooked = true;
        proc.once('exit', () => shutdownWebGPU());
      }
      return backend;
    } finally {
      initializing = null;
    }
  })();
  return initializing;
}

/** Destroys the device and unregisters the backend (tensors on it become unusable). */
export function shutdownWebGPU(): void {
  if (!runtime) return;
  runtime.destroy();
  runtime = null;
  backend = null;
  unregisterBackend('webgpu');
}

/** What the adapter offers: its info, the enabled features and the device limits. */
export function backendInfo(): Record<string, unknown> {
  const r = rt();
  const limits: Record<string, number> = {};
  const l = r.limits as unknown as Record<string, unknown>;
  for (const k in l) if (typeof l[k] === 'number') limits[k] = l[k];
  return {
    backend: 'webgpu',
    adapter: r.adapterInfo,
    features: [...r.features].sort(),
    limits,
    kernels: kernelNames('webgpu').length,
    pipelines: r.pipelineCount,
  };
}

/**
 * Compiles pipelines in the background with createComputePipelineAsync and resolves when they are ready:
 * - `precompile(codes)`: the WGSL texts `pipelineCodes()` returned in an earlier session (e.g. saved next to a model);
 * - `precompile(fn)`: runs `fn` (synchronous; under noGrad and tidy) in compile-only mode, where kernels request
 *   their pipelines but nothing is recorded or executed, so a model's forward pass on dummy inputs of the right
 *   shapes gathers what the real one will need.
 * Typical use: start it, upload the weights meanwhile, then `await` it. Work recorded before a pipeline is ready waits
 * for that compile (at the next readback or sync) instead of compiling the shader a second time. Resolves with the
 * runtime's pipeline counters.
 */
export async function precompile(what: Iterable<string> | (() => unknown)): Promise<PipelineStats> {
  const r = rt();
  if (typeof what === 'function') {
    r.compileOnly = true;
    try {
      noGrad(() => tidy(() => void what()));
    } finally {
      r.compileOnly = false;
    }
    await r.whenCompiled();
  } else await r.precompile(what);
  return { ...r.pipelineStats };
}

/** The WGSL of every pipeline the backend has created or is compiling (to pass to `precompile` later). */
export function pipelineCodes(): string[] {
  return rt().pipelineCodes();
}

/** Bytes held by live tensors, by the pool, and allocated from the device in total. */
export function memoryStats(): MemoryStats {
  return rt().memoryStats();
}
