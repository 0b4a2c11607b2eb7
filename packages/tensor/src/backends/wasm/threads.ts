/**
 * Worker threads sharing the backend's WebAssembly memory: worker_threads in Node, Web Workers in browsers. Each
 * worker instantiates the same compiled module on the same shared memory and blocks in Atomics.wait on its own
 * sequence counter. A job is one kernel run on a list of chunks (one argument list each, in a shared table): the
 * main thread writes the table, resets the shared chunk counter, bumps each worker's sequence counter and notifies,
 * then every thread (main included) takes the next chunk with Atomics.add until none is left, so a thread that
 * starts late or shares its core does fewer chunks. A worker claims a job before taking chunks; when the main thread
 * has done every chunk, it withdraws the offer from workers that have not claimed it yet (still waking, or their
 * core busy) and waits only for the others' `done` to reach the sequence. Idle threads poll a short while (the
 * runtime's spinMicros) before sleeping. Ops stay synchronous. Where the main thread may not block (a browser's
 * main thread), it spins on Atomics.load instead.
 */

export class WasmWorkerError extends Error {
  override name = 'WasmWorkerError';
}

/** Int32 slots per worker in the control array (64 bytes: no false sharing). */
const CTL = 16;
/** Arguments per chunk (the widest kernel has 18). */
const ARGS = 24;
/** Chunks per job at most. */
export const MAX_CHUNKS = 256;
/** Int32 index of the shared chunk counter in the control array (the main thread's slot, unused otherwise). */
const COUNTER = 4;
/** Int32 index of the poll time (microseconds) threads spend before sleeping in Atomics.wait. */
const SPIN = 5;
/** Float64 header slots per thread. */
const HDR = 8;
const JOB_TIMEOUT_MS = 600_000;

const WORKER_SOURCE = `'use strict';
const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node);
let post;
function start(d) {
  const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  const fns = d.names.map((n) => inst.exports[n]);
  const ctl = new Int32Array(d.ctl);
  const hdr = new Float64Array(d.hdr);
  const table = new Float64Array(d.table);
  const i = d.index * ${CTL};
  const h0 = d.index * ${HDR};
  post('ready');
  let seen = 0;
  for (;;) {
    let s = Atomics.load(ctl, i);
    if (s === seen) {
      // Poll a short while before sleeping (the next job of an op often follows within microseconds; a woken
      // sleeper may be placed on the main thread's core).
      const spin = Atomics.load(ctl, ${SPIN});
      if (spin > 0) {
        const t0 = performance.now();
        while ((s = Atomics.load(ctl, i)) === seen && performance.now() - t0 < spin / 1000);
      }
    }
    if (s === seen) {
      Atomics.wait(ctl, i, seen, 1000);
      s = Atomics.load(ctl, i);
    }
    if (s === seen) continue;
    if (s < 0) return;
    seen = s;
    // Claim the job (its claim word goes from -s to s) unless the main thread already finished it alone and
    // withdrew the offer (0), or a newer job replaced it (the next pass reads the newer sequence).
    if (Atomics.compareExchange(ctl, i + 3, -s, s) !== -s) continue;
    try {
      // Job header: kernel index, argument count, this thread's scratch, the argument it replaces (-1: none), chunks.
      const f = fns[hdr[h0]];
      const n = hdr[h0 + 1];
      const scratch = hdr[h0 + 2];
      const sa = hdr[h0 + 3];
      const total = hdr[h0 + 4];
      const v = new Array(n);
      for (;;) {
        const c = Atomics.add(ctl, ${COUNTER}, 1);
        if (c >= total) break;
        for (let k = 0; k < n; k++) v[k] = table[c * ${ARGS} + k];
        if (sa >= 0) v[sa] = scratch;
        f(...v);
      }
      Atomics.store(ctl, i + 2, 0);
    } catch (e) {
      Atomics.store(ctl, i + 2, 1);
      post('error: ' + (e && e.message ? e.message : String(e)));
    }
    Atomics.store(ctl, i + 1, s);
    Atomics.notify(ctl, i + 1);
  }
}
if (isNode) {
  const { parentPort } = require('node:worker_threads');
  post = (m) => parentPort.postMessage(m);
  parentPort.once('message', (d) => { start(d); process.exit(0); });
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => { start(e.data); self.close(); };
}
`;

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}
const proc = (globalThis as { process?: NodeProcess }).process;

type NodeWorkerCtor = new (src: string, opts: Record<string, unknown>) => AnyWorker & {
  on(ev: string, f: (m: unknown) => void): void;
  unref(): void;
};

/** Starts one worker and resolves when it has instantiated the module. */
function spawn(init: Record<string, unknown>, onError: (m: string) => void): Promise<AnyWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown, w: AnyWorker): void => {
      if (m === 'ready') resolve(w);
      else onError(String(m));
    };
    if (proc?.versions?.node) {
      const wt = proc.getBuiltinModule?.('node:worker_threads') as { Worker: NodeWorkerCtor } | undefined;
      if (!wt) {
        reject(new WasmWorkerError('node:worker_threads is unavailable'));
        return;
      }
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      w.on('message', (m) => {
        onMessage(m, w);
        w.unref(); // once running, never keep the process alive
      });
      w.on('error', (e) => reject(e instanceof Error ? e : new WasmWorkerError(String(e))));
      w.postMessage(init);
      return;
    }
    const g = globalThis as unknown as {
      Worker?: new (url: string) => AnyWorker & { onmessage: ((e: { data: unknown }) => void) | null; onerror: ((e: unknown) => void) | null };
      Blob: typeof Blob;
      URL: typeof URL;
    };
    if (!g.Worker) {
      reject(new WasmWorkerError('Web Workers are unavailable'));
      return;
    }
    const url = g.URL.createObjectURL(new g.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    const w = new g.Worker(url);
    w.onmessage = (e) => onMessage(e.data, w);
    w.onerror = (e) => reject(new WasmWorkerError(`a worker failed to start: ${String(e)}`));
    w.postMessage(init);
  });
}

function mainMayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** One kernel run over a list of chunks. */
export interface Job {
  /** Kernel index (in the exports' order). */
  fn: number;
  /** One argument list per chunk (at most MAX_CHUNKS, each at most ARGS numbers). */
  chunks: number[][];
  /** The argument each thread replaces with its own scratch pointer (-1: none). */
  scratchArg: number;
  /** Scratch pointer per thread (index 0: the main thread). */
  scratch: number[];
  /** Workers to wake (the threads in use minus the main thread). */
  workers: number;
}

/** The pool of worker threads (the main thread is thread 0). */
export class ThreadPool {
  readonly #workers: AnyWorker[];
  readonly #ctl: Int32Array;
  readonly #hdr: Float64Array;
  readonly #table: Float64Array;
  readonly #block = mainMayBlock();
  #seq = 0;
  #errors: string[] = [];
  /** Jobs run, and worker offers withdrawn because the main thread finished every chunk before the worker woke. */
  jobs = 0;
  withdrawn = 0;

  private constructor(workers: AnyWorker[], ctl: Int32Array, hdr: Float64Array, table: Float64Array, errors: string[]) {
    this.#workers = workers;
    this.#ctl = ctl;
    this.#hdr = hdr;
    this.#table = table;
    this.#errors = errors;
  }

  /** Starts `n` workers on `module` and the shared `memory`; `names` are the exports jobs index. */
  static async start(n: number, module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[]): Promise<ThreadPool> {
    const ctl = new Int32Array(new SharedArrayBuffer(4 * CTL * (n + 1)));
    const hdr = new Float64Array(new SharedArrayBuffer(8 * HDR * (n + 1)));
    const table = new Float64Array(new SharedArrayBuffer(8 * ARGS * MAX_CHUNKS));
    const errors: string[] = [];
    const workers = await Promise.all(
      Array.from({ length: n }, (_, w) => spawn({ module, memory, names, ctl: ctl.buffer, hdr: hdr.buffer, table: table.buffer, index: w + 1 }, (m) => errors.push(m))),
    );
    return new ThreadPool(workers, ctl, hdr, table, errors);
  }

  /** How long threads poll for work before sleeping (microseconds; 0: sleep at once). */
  get spinMicros(): number {
    return Atomics.load(this.#ctl, SPIN);
  }

  set spinMicros(us: number) {
    Atomics.store(this.#ctl, SPIN, Math.max(0, Math.round(us)));
  }

  /** Worker count (threads - 1). */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Runs the job's chunks on the main thread (`main` calls the kernel with one argument list) and `job.workers`
   * workers, each thread taking the next chunk from the shared counter; returns when all are done.
   */
  run(job: Job, main: (args: number[]) => void): void {
    const n = job.workers;
    const total = job.chunks.length;
    if (n > this.#workers.length) throw new WasmWorkerError(`${n} workers asked of a pool of ${this.#workers.length}`);
    if (total > MAX_CHUNKS) throw new WasmWorkerError(`${total} chunks in one job (at most ${MAX_CHUNKS})`);
    job.chunks.forEach((args, c) => {
      if (args.length > ARGS) throw new WasmWorkerError(`${args.length} kernel arguments (at most ${ARGS})`);
      this.#table.set(args, c * ARGS);
    });
    const nargs = job.chunks[0]?.length ?? 0;
    const s = ++this.#seq;
    Atomics.store(this.#ctl, COUNTER, 0);
    for (let w = 1; w <= n; w++) {
      const h = w * HDR;
      this.#hdr[h] = job.fn;
      this.#hdr[h + 1] = nargs;
      this.#hdr[h + 2] = job.scratch[w] ?? 0;
      this.#hdr[h + 3] = job.scratchArg;
      this.#hdr[h + 4] = total;
      Atomics.store(this.#ctl, w * CTL + 3, -s); // offered, not claimed
      Atomics.store(this.#ctl, w * CTL, s);
      Atomics.notify(this.#ctl, w * CTL);
    }
    this.jobs++;
    let mainError: unknown = null;
    try {
      for (;;) {
        const c = Atomics.add(this.#ctl, COUNTER, 1);
        if (c >= total) break;
        const args = job.chunks[c];
        if (job.scratchArg >= 0) {
          const own = args.slice();
          own[job.scratchArg] = job.scratch[0];
          main(own);
        } else main(args);
      }
    } catch (e) {
      mainError = e;
    }
    let failed = false;
    const spinMs = Atomics.load(this.#ctl, SPIN) / 1000;
    for (let w = 1; w <= n; w++) {
      // A worker that has not claimed the job yet (still waking up, or its core busy) is not waited for: the
      // offer is withdrawn and the chunks are all done.
      if (Atomics.compareExchange(this.#ctl, w * CTL + 3, -s, 0) === -s) {
        this.withdrawn++;
        continue;
      }
      const i = w * CTL + 1;
      const t0 = performance.now();
      for (;;) {
        const d = Atomics.load(this.#ctl, i);
        if (d === s) break;
        const t = performance.now() - t0;
        if (t > JOB_TIMEOUT_MS) throw new WasmWorkerError('a cpu-wasm worker did not answer within 10 minutes');
        if (this.#block && t >= spinMs) Atomics.wait(this.#ctl, i, d, 100);
      }
      if (Atomics.load(this.#ctl, w * CTL + 2) !== 0) failed = true;
    }
    if (mainError) throw mainError instanceof Error ? mainError : new WasmWorkerError('the main thread share failed');
    if (failed) {
      throw new WasmWorkerError(`a cpu-wasm kernel failed in a worker${this.#errors.length ? `: ${this.#errors.join('; ')}` : ''} (initCpuWasm({ threads: 1 }) avoids the workers)`);
    }
  }

  /** Stops the workers (they exit after their current job). */
  stop(): void {
    for (let w = 1; w <= this.#workers.length; w++) {
      Atomics.store(this.#ctl, w * CTL, -1);
      Atomics.notify(this.#ctl, w * CTL);
    }
    for (const w of this.#workers) void w.terminate();
  }
}
