/**
 * The WASM runtime: one linear memory (shared when SharedArrayBuffer is available, so worker threads compute on
 * it in place), the generated kernel module instantiated on it, the heap allocator, per-thread GEMM scratch and the
 * thread pool. Everything the backend stores lives in this memory.
 */
import { buildKernelModule } from './kernels/index.ts';
import { SCRATCH_BYTES } from './kernels/gemm.ts';
import { Heap } from './heap.ts';
import { ThreadPool } from './threads.ts';
import { encodeModule } from './emit/module.ts';
import { f32x4, get, type Code } from './emit/code.ts';

export interface CpuWasmOptions {
  /** Threads (main included); default SEGLLM_CPU_THREADS, else the core count (at most 8); 1 without shared memory. */
  threads?: number;
  /** Upper bound of the linear memory in bytes (default 4 GiB under Node, 2 GiB in browsers; at most 4 GiB). */
  maxMemoryBytes?: number;
  /** Initial size in bytes (default 16 MiB). */
  initialMemoryBytes?: number;
  /** Use shared memory and workers when available (default true); false forces the single-threaded build. */
  shared?: boolean;
  /**
   * Microseconds threads poll for the next job before sleeping (default SPIN_MICROS = 200). Polling keeps a worker
   * on its own core between back-to-back jobs (a sleeping worker is sometimes woken on the main thread's core, and
   * the two then share it: matmul 1024 on two threads measured 45 instead of 93 GFLOP/s in such runs). Long polls
   * cost the other processes of a busy machine: 1000 with the earlier three-jobs-per-block attention fell from ~20
   * to ~3 GFLOP/s under load; 200 with today's one job per op measured no loss with two busy processes beside it.
   */
  spinMicros?: number;
  /**
   * Use relaxed-SIMD fused multiply-adds in the GEMM/GEMV (default true where the engine has them). Under Node 20
   * this turns on V8's --experimental-wasm-relaxed-simd for the process; false keeps separate multiply and add
   * (results then differ from the fused ones in the last bits).
   */
  relaxedSimd?: boolean;
}

export class WasmInitError extends Error {
  override name = 'WasmInitError';
}

const PAGE = 65536;
/**
 * Chunks per thread in a parallel kernel run: threads take chunks from a shared counter, so one that starts late or
 * shares its core with another process takes fewer (a static half/half split waits for the slower thread).
 */
export const CHUNKS_PER_THREAD = 4;
/** Default poll time of idle threads before they sleep (microseconds; see CpuWasmOptions.spinMicros). */
export const SPIN_MICROS = 200;
const MAX_PAGES = 65536;

interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

function defaultThreads(): number {
  const proc = (globalThis as { process?: NodeProcess }).process;
  const env = proc?.env?.SEGLLM_CPU_THREADS;
  const n = env ? Number.parseInt(env, 10) : Number.NaN;
  if (Number.isFinite(n) && n >= 1) return Math.min(n, 8);
  const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  const cores = os ? (os.availableParallelism?.() ?? os.cpus().length) : ((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(cores, 8));
}

/** Whether this engine validates f32x4.relaxed_madd (then GEMM tiles use fused multiply-adds). */
function hasRelaxedSimd(): boolean {
  const p = [0, 1, 2].map((i): Code => get(i));
  const body = f32x4.madd(p[0], p[1], p[2], true);
  try {
    return WebAssembly.validate(encodeModule({ initialPages: 1, maximumPages: 1, shared: false }, [{ name: 'f', params: ['v128', 'v128', 'v128'], result: 'v128', locals: [], body }]));
  } catch {
    return false;
  }
}

/**
 * Node 20's V8 (11.3) implements relaxed SIMD but ships it behind --experimental-wasm-relaxed-simd (on by default from
 * V8 11.4: Node 22, Chrome 114). Turning the flag on before the kernels compile gives the GEMM and GEMV fused
 * multiply-adds (matmul 1024 ~36 -> ~45 GFLOP/s per core on the dev machine). The flag only lets modules use the
 * relaxed opcodes; returns whether they validate afterwards.
 */
function enableRelaxedSimdInNode(): boolean {
  const proc = (globalThis as { process?: NodeProcess & { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return false;
  const v8 = proc.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
  if (!v8?.setFlagsFromString) return false;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return hasRelaxedSimd();
}

function sharedMemoryUsable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return false;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

export type WasmFn = (...args: number[]) => void;

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly heap: Heap;
  readonly shared: boolean;
  readonly fma: boolean;
  readonly names: string[];
  readonly fns: Record<string, WasmFn>;
  /** Threads started (main included). */
  readonly threads: number;
  /** Threads kernels use now (<= threads; setCpuWasmThreads changes it). */
  active: number;
  /** Chunks per thread in parallel runs (see CHUNKS_PER_THREAD; 1 gives a static split). */
  chunksPerThread = CHUNKS_PER_THREAD;
  /** Per-thread GEMM scratch (byte offsets), thread 0 = the main thread. */
  readonly scratch: number[];
  readonly pool: ThreadPool | null;
  readonly maxBytes: number;
  /** float16 storages scanned for Inf/NaN, and GEMV runs that took the finite-only widening (for tests and info). */
  halfScans = 0;
  halfFastGemv = 0;
  #f32: Float32Array | null = null;

  private constructor(memory: WebAssembly.Memory, instance: WebAssembly.Instance, names: string[], shared: boolean, fma: boolean, pool: ThreadPool | null, maxBytes: number) {
    this.memory = memory;
    this.shared = shared;
    this.fma = fma;
    this.names = names;
    this.fns = Object.fromEntries(names.map((n) => [n, instance.exports[n] as WasmFn]));
    this.pool = pool;
    this.threads = (pool?.size ?? 0) + 1;
    this.active = this.threads;
    this.maxBytes = maxBytes;
    // Bytes [0, 64 KiB) stay unused (null pointers trap-free but never handed out).
    this.heap = new Heap(memory, PAGE, maxBytes);
    this.scratch = Array.from({ length: this.threads }, () => this.heap.alloc(SCRATCH_BYTES));
  }

  static async create(opts: CpuWasmOptions = {}): Promise<WasmRuntime> {
    if (typeof WebAssembly === 'undefined') throw new WasmInitError('WebAssembly is unavailable in this environment: use the cpu backend');
    // Default bound: 4 GiB (the wasm32 limit) under Node, 2 GiB in browsers (a shared memory reserves its maximum).
    const isNode = !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
    const maxBytes = Math.min(opts.maxMemoryBytes ?? (isNode ? 2 ** 32 : 2 ** 31), MAX_PAGES * PAGE);
    const maximumPages = Math.ceil(maxBytes / PAGE);
    const initialPages = Math.min(maximumPages, Math.ceil((opts.initialMemoryBytes ?? 16 * 2 ** 20) / PAGE));
    const shared = opts.shared !== false && sharedMemoryUsable();
    const fma = opts.relaxedSimd !== false && (hasRelaxedSimd() || enableRelaxedSimdInNode());
    const km = buildKernelModule({ initialPages: 1, maximumPages, shared }, fma);
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(km.bytes);
    } catch (e) {
      throw new WasmInitError(`the WASM SIMD kernels did not compile (${String(e)}): this engine lacks WebAssembly SIMD; use the cpu backend`);
    }
    const memory = new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const want = shared ? Math.max(1, Math.min(opts.threads ?? defaultThreads(), 8)) : 1;
    let pool: ThreadPool | null = null;
    if (want > 1) {
      try {
        pool = await ThreadPool.start(want - 1, module, memory, km.exports);
        pool.spinMicros = opts.spinMicros ?? SPIN_MICROS;
      } catch {
        pool = null; // workers unavailable: single-threaded
      }
    }
    return new WasmRuntime(memory, instance, km.exports, shared, fma, pool, maximumPages * PAGE);
  }

  fnIndex(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new WasmInitError(`no wasm kernel '${name}'`);
    return i;
  }

  /** A Float32Array over the whole memory (refreshed after growth). */
  f32(): Float32Array {
    const buf = this.memory.buffer;
    if (this.#f32?.buffer !== buf) this.#f32 = new Float32Array(buf);
    return this.#f32;
  }

  /**
   * Boundaries of the chunks [b[i], b[i+1]) that split [0, n) for `parallel`: one chunk when one thread is in use,
   * else up to chunksPerThread per thread, each at least `minSize` long, inner boundaries multiples of `align`.
   */
  split(n: number, align: number, minSize: number, threads = this.active): number[] {
    const parts = Math.max(1, Math.min(threads > 1 ? threads * this.chunksPerThread : 1, Math.floor(n / Math.max(1, minSize))));
    const b = [0];
    for (let p = 1; p < parts; p++) b.push(Math.min(n, Math.round((n * p) / parts / align) * align));
    b.push(n);
    return b;
  }

  /**
   * Runs `name` once per argument list (chunk): here and on up to `active - 1` workers, each thread taking the next
   * chunk until none is left. With `scratchArg` >= 0, that argument becomes the running thread's scratch pointer
   * (`scratch[t]` for thread t: the GEMM scratch unless given).
   */
  parallel(name: string, chunks: number[][], scratchArg = -1, scratch: number[] = this.scratch): void {
    const f = this.fns[name];
    const workers = this.pool ? Math.min(this.active - 1, this.pool.size, chunks.length - 1) : 0;
    if (workers <= 0 || !this.pool) {
      for (const a of chunks) {
        if (scratchArg < 0) f(...a);
        else {
          const own = a.slice();
          own[scratchArg] = scratch[0];
          f(...own);
        }
      }
      return;
    }
    this.pool.run({ fn: this.fnIndex(name), chunks, scratchArg, scratch, workers }, (a) => f(...a));
  }

  dispose(): void {
    this.pool?.stop();
  }
}
