/**
 * A small persistent pool of worker_threads for the CPU GEMM. Ops stay synchronous: the main thread posts each
 * worker its share of the output, computes its own share, then blocks in Atomics.wait until every worker has
 * flagged completion in a shared Int32Array. Operands travel as SharedArrayBuffers (no copies).
 *
 * The workers run `gemmBlock`'s own source text (an eval worker of self-contained JS), so the same code works from
 * the TypeScript sources (tsx, vitest) and from dist. Workers are unref'd: they never keep the process alive.
 * Without worker_threads or SharedArrayBuffer (browsers, no cross-origin isolation), or with
 * SEGLLM_CPU_THREADS=1, everything runs on the calling thread.
 */
import { gemmBlock, type F } from './gemm-kernel.ts';

/** Thrown when a GEMM worker fails; the pool is shut down and later calls run single-threaded. */
export class CpuWorkerError extends Error {
  override name = 'CpuWorkerError';
}

interface WorkerLike {
  postMessage(msg: unknown): void;
  unref(): void;
  terminate(): Promise<number>;
}
interface PortLike {
  close(): void;
}
interface WorkerThreads {
  Worker: new (src: string, opts: Record<string, unknown>) => WorkerLike;
  MessageChannel: new () => { port1: PortLike; port2: PortLike };
  receiveMessageOnPort(port: PortLike): { message: unknown } | undefined;
}
interface Slot {
  worker: WorkerLike;
  flag: Int32Array; // [1]: 0 busy, 1 done, 2 failed
  errors: PortLike; // the worker posts error text here; read synchronously with receiveMessageOnPort
}

/** One share of a GEMM: the strided operands (SharedArrayBuffer-backed) and the output region. */
export interface GemmJob {
  A: F; aOff: number; ars: number; acs: number;
  B: F; bOff: number; brs: number; bcs: number;
  C: F; cOff: number; ldc: number;
  M: number; K: number; m0: number; m1: number; n0: number; n1: number;
}

const MAX_THREADS = 8;
const START_TIMEOUT_MS = 20_000;
const JOB_TIMEOUT_MS = 600_000;

interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}
const proc = (globalThis as { process?: NodeProcess }).process;

function loadWorkerThreads(): WorkerThreads | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return null;
  try {
    return (proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined) ?? null;
  } catch {
    return null;
  }
}

/** The thread count for a SEGLLM_CPU_THREADS value (unset, empty or invalid: the core count), at most 8. */
export function threadsFromEnv(env: string | undefined, cores: number): number {
  const n = env ? Number.parseInt(env, 10) : Number.NaN;
  return Math.max(1, Math.min(Number.isFinite(n) && n >= 1 ? n : cores, MAX_THREADS));
}

function configuredThreads(): number {
  if (!loadWorkerThreads()) return 1;
  const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  const cores = os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
  return threadsFromEnv(proc?.env?.SEGLLM_CPU_THREADS, cores);
}

let threads = configuredThreads();
let slots: Slot[] | null = null;

/** The number of threads (main thread included) the CPU GEMM uses; 1 when workers are unavailable or disabled. */
export function cpuThreads(): number {
  return threads;
}

/**
 * Overrides the thread count (1 disables the pool; tests use it to compare the threaded and single-threaded
 * paths). Returns the previous count. The pool grows lazily; lowering the count keeps idle workers around.
 */
export function setCpuThreads(n: number): number {
  const prev = threads;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setCpuThreads: expected an integer >= 1, got ${n}`);
  threads = loadWorkerThreads() ? Math.min(n, MAX_THREADS) : 1;
  return prev;
}

function workerSource(): string {
  // `__name` is the helper esbuild (tsx, vitest) may wrap named functions in; it is a no-op here.
  return `'use strict';
var __name = (f) => f;
const { parentPort, workerData } = require('node:worker_threads');
const gemmBlock = ${gemmBlock.toString()};
const { flag, errors } = workerData;
const ws = {};
const view = (buf, type) => (type === 'f64' ? new Float64Array(buf) : new Float32Array(buf));
parentPort.on('message', (j) => {
  try {
    gemmBlock(view(j.A, j.at), j.aOff, j.ars, j.acs, view(j.B, j.bt), j.bOff, j.brs, j.bcs,
      view(j.C, j.ct), j.cOff, j.ldc, j.M, j.K, j.m0, j.m1, j.n0, j.n1, ws);
    Atomics.store(flag, 0, 1);
  } catch (e) {
    errors.postMessage(String(e && e.stack ? e.stack : e));
    Atomics.store(flag, 0, 2);
  }
  Atomics.notify(flag, 0);
});
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
`;
}

function startSlot(wt: WorkerThreads): Slot | null {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new wt.MessageChannel();
  const worker = new wt.Worker(workerSource(), {
    eval: true,
    execArgv: [],
    workerData: { flag, errors: port2 },
    transferList: [port2],
  });
  worker.unref();
  (port1 as PortLike & { unref?: () => void }).unref?.();
  if (Atomics.wait(flag, 0, 0, START_TIMEOUT_MS) === 'timed-out') {
    void worker.terminate();
    return null;
  }
  return { worker, flag, errors: port1 };
}

/** Makes sure `n` workers run; returns how many do (fewer when a worker fails to start). */
function ensureWorkers(n: number): number {
  const wt = loadWorkerThreads();
  if (!wt) return 0;
  slots ??= [];
  while (slots.length < n) {
    const slot = startSlot(wt);
    if (!slot) {
      threads = slots.length + 1;
      break;
    }
    slots.push(slot);
  }
  return Math.min(n, slots.length);
}

/** How many pool workers are running (0 until the first threaded GEMM). */
export function poolWorkers(): number {
  return slots?.length ?? 0;
}

function shutdown(): void {
  for (const s of slots ?? []) {
    void s.worker.terminate();
    s.errors.close();
  }
  slots = null;
  threads = 1;
}

function typeTag(a: F): 'f32' | 'f64' {
  return a instanceof Float64Array ? 'f64' : 'f32';
}

/** Runs `jobs[0]` on this thread and the rest on workers; returns when all are done. Operands must be shared. */
export function runParallel(jobs: GemmJob[], main: () => void): void {
  const n = ensureWorkers(jobs.length - 1);
  if (n < jobs.length - 1) {
    // Not enough workers (one failed to start): do everything here.
    for (const j of jobs) gemmBlock(j.A, j.aOff, j.ars, j.acs, j.B, j.bOff, j.brs, j.bcs, j.C, j.cOff, j.ldc, j.M, j.K, j.m0, j.m1, j.n0, j.n1, {});
    return;
  }
  const busy = (slots ?? []).slice(0, n);
  busy.forEach((s, w) => {
    const j = jobs[w + 1];
    Atomics.store(s.flag, 0, 0);
    s.worker.postMessage({
      ...j,
      A: j.A.buffer, at: typeTag(j.A), aOff: j.aOff + j.A.byteOffset / j.A.BYTES_PER_ELEMENT,
      B: j.B.buffer, bt: typeTag(j.B), bOff: j.bOff + j.B.byteOffset / j.B.BYTES_PER_ELEMENT,
      C: j.C.buffer, ct: typeTag(j.C), cOff: j.cOff + j.C.byteOffset / j.C.BYTES_PER_ELEMENT,
    });
  });
  let mainError: Error | null = null;
  try {
    main();
  } catch (e) {
    mainError = e instanceof Error ? e : new Error(String(e));
  }
  const failures: string[] = [];
  for (const s of busy) {
    if (Atomics.wait(s.flag, 0, 0, JOB_TIMEOUT_MS) === 'timed-out') failures.push('a GEMM worker did not answer');
    else if (Atomics.load(s.flag, 0) === 2) {
      const m = loadWorkerThreads()?.receiveMessageOnPort(s.errors);
      failures.push(typeof m?.message === 'string' ? m.message : 'a GEMM worker failed');
    }
  }
  if (mainError) throw mainError;
  if (failures.length) {
    shutdown();
    throw new CpuWorkerError(`${failures.join('; ')} (threads are now off; set SEGLLM_CPU_THREADS=1 to stay single-threaded)`);
  }
}
