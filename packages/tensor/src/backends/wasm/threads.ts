/**
 * Worker threads sharing the backend's WebAssembly memory: worker_threads in Node, Web Workers in browsers. Each
 * worker instantiates the same compiled module on the same shared memory and blocks in Atomics.wait on its own
 * sequence counter; the main thread writes a job (function index and numeric arguments) into the worker's slot of
 * a shared Float64Array, bumps the counter and notifies, runs its own share, then waits for every worker's `done`
 * to reach the counter. Ops stay synchronous. Where the main thread may not block (a browser's main thread), it
 * spins on Atomics.load instead.
 */

export class WasmWorkerError extends Error {
  override name = 'WasmWorkerError';
}

/** Int32 slots per worker in the control array (64 bytes: no false sharing). */
const CTL = 16;
/** Arguments per job (the widest kernel has 14). */
const ARGS = 32;
const JOB_TIMEOUT_MS = 600_000;

const WORKER_SOURCE = `'use strict';
const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node);
let post;
function start(d) {
  const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  const fns = d.names.map((n) => inst.exports[n]);
  const ctl = new Int32Array(d.ctl);
  const args = new Float64Array(d.args);
  const i = d.index * ${CTL};
  const a0 = d.index * ${ARGS};
  post('ready');
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, i, seen, 1000);
    const s = Atomics.load(ctl, i);
    if (s === seen) continue;
    if (s < 0) return;
    seen = s;
    try {
      const n = args[a0 + 1];
      const f = fns[args[a0]];
      const v = [];
      for (let k = 0; k < n; k++) v.push(args[a0 + 2 + k]);
      f(...v);
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

export interface Job {
  fn: number;
  args: number[];
}

/** The pool of worker threads (the main thread is thread 0). */
export class ThreadPool {
  readonly #workers: AnyWorker[];
  readonly #ctl: Int32Array;
  readonly #args: Float64Array;
  readonly #block = mainMayBlock();
  #seq = 0;
  #errors: string[] = [];

  private constructor(workers: AnyWorker[], ctl: Int32Array, args: Float64Array, errors: string[]) {
    this.#workers = workers;
    this.#ctl = ctl;
    this.#args = args;
    this.#errors = errors;
  }

  /** Starts `n` workers on `module` and the shared `memory`; `names` are the exports jobs index. */
  static async start(n: number, module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[]): Promise<ThreadPool> {
    const ctl = new Int32Array(new SharedArrayBuffer(4 * CTL * (n + 1)));
    const args = new Float64Array(new SharedArrayBuffer(8 * ARGS * (n + 1)));
    const errors: string[] = [];
    const workers = await Promise.all(
      Array.from({ length: n }, (_, w) => spawn({ module, memory, names, ctl: ctl.buffer, args: args.buffer, index: w + 1 }, (m) => errors.push(m))),
    );
    return new ThreadPool(workers, ctl, args, errors);
  }

  /** Worker count (threads - 1). */
  get size(): number {
    return this.#workers.length;
  }

  /** Runs jobs[1..] on workers and `main` (jobs[0]) here; returns when all are done. */
  run(jobs: Job[], main: () => void): void {
    const n = jobs.length - 1;
    if (n > this.#workers.length) throw new WasmWorkerError(`${n} worker jobs for a pool of ${this.#workers.length}`);
    const s = ++this.#seq;
    for (let w = 1; w <= n; w++) {
      const j = jobs[w];
      const a = w * ARGS;
      this.#args[a] = j.fn;
      this.#args[a + 1] = j.args.length;
      for (let k = 0; k < j.args.length; k++) this.#args[a + 2 + k] = j.args[k];
      Atomics.store(this.#ctl, w * CTL, s);
      Atomics.notify(this.#ctl, w * CTL);
    }
    let mainError: unknown = null;
    try {
      main();
    } catch (e) {
      mainError = e;
    }
    let failed = false;
    for (let w = 1; w <= n; w++) {
      const i = w * CTL + 1;
      const t0 = Date.now();
      for (;;) {
        const d = Atomics.load(this.#ctl, i);
        if (d === s) break;
        if (Date.now() - t0 > JOB_TIMEOUT_MS) throw new WasmWorkerError('a cpu-wasm worker did not answer within 10 minutes');
        if (this.#block) Atomics.wait(this.#ctl, i, d, 100);
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
