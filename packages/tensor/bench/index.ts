/**
 * `npm run bench -w @segllm/tensor [-- --json] [--backend cpu|webgpu|all] [--no-peers] [--reps N] [--only matmul,conv2d,attention (any of them)]`
 *
 * GFLOP/s of @segllm/tensor's CPU tiers (readable TS and cpu-wasm, all threads and one) for matmul, conv2d and
 * attention, next to TF.js (cpu, wasm) and onnxruntime-node on the same shapes (peers from the private @segllm/bench
 * workspace), with the ratio of the suite's first row to each. `--backend webgpu` runs the WebGPU suite instead
 * (workloads.ts: issue-3 shapes; segllm-webgpu, cpu-wasm, tfjs-webgpu, onnxruntime-node's WebGPU EP); `all`, both. Every figure is the median of >= `reps` timings after one warm-up run.
 * `--json` prints one object per row: {"op", "shape", "impl", "gflops", "gflopsPerCpuSecond", "gbps"?, "reps"}; notes
 * go to stderr. `gbps` (memory-bound rows: GEMV weights, decode KV) counts float16 bytes where the implementation
 * stores float16.
 * gflopsPerCpuSecond divides by the process CPU time (all threads) instead of wall time: on a shared, busy machine
 * it still shows per-core efficiency, while gflops (wall time) is what a user waits for.
 */
import * as T from '@segllm/tensor';
import type { Peer, PeerCase } from '@segllm/bench/peers';
import { boundBytes, CPU_SUITE, flops, WEBGPU_SUITE, type Case } from './workloads.ts';

interface Args {
  json: boolean;
  backend: 'cpu' | 'webgpu' | 'all';
  peers: boolean;
  reps: number;
  only: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, backend: 'cpu', peers: true, reps: 5, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--no-peers') args.peers = false;
    else if (a === '--backend') {
      const b = argv[++i];
      if (b !== 'cpu' && b !== 'webgpu' && b !== 'all') throw new Error(`--backend takes cpu, webgpu or all, got ${b}`);
      args.backend = b;
    } else if (a === '--only') args.only = argv[++i];
    else if (a === '--reps') args.reps = Math.max(5, Number.parseInt(argv[++i], 10) || 5);
    else throw new Error(`unknown argument ${a} (use --json, --backend cpu|webgpu|all, --no-peers, --reps N, --only OP)`);
  }
  return args;
}

function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** @segllm/tensor on one backend (threads: the CPU thread count to set, or null to leave it). */
function segllm(name: string, backend: string, threads: number | null, notes: string[]): Peer {
  return {
    name,
    prepare(w) {
      // float16 operands are converted on the host, so no float32 copy of a large weight is ever uploaded.
      const dtype = 'half' in w && w.half ? 'float16' : 'float32';
      const t = (shape: number[], seed: number) => T.tensor(values(shape.reduce((a, b) => a * b, 1), seed), { shape, backend, dtype });
      let inputs: T.Tensor[];
      let fn: () => T.Tensor;
      if (w.op === 'matmul') {
        // bT: the weight is stored [N, K] like nn.Linear's and used transposed (x W^T).
        const [a, b] = [t([w.M, w.K], 1), w.bT ? t([w.N, w.K], 2) : t([w.K, w.N], 2)];
        inputs = [a, b];
        fn = w.bT ? () => T.linear(a, b) : () => T.matmul(a, b);
      } else if (w.op === 'conv2d') {
        if (!('conv2d' in T)) {
          notes.push('conv2d rows skipped: conv2d is not exported from src/ops/index.ts yet');
          return Promise.resolve(null);
        }
        const [x, f] = [t([w.N, w.C, w.H, w.W], 1), t([w.O, w.C, w.k, w.k], 2)];
        inputs = [x, f];
        fn = () => T.conv2d(x, f, null, { padding: w.pad, stride: w.stride ?? 1 });
      } else {
        const s = [1, w.H, w.T, w.D];
        const [q, k, v] = [t([1, w.H, w.Tq ?? w.T, w.D], 1), t(s, 2), t(s, 3)];
        inputs = [q, k, v];
        fn = 'scaledDotProductAttention' in T
          ? () => T.scaledDotProductAttention(q, k, v)
          : () => T.tidy(() => T.matmul(T.softmax(T.matmul(q, T.transpose(k)).mul(1 / Math.sqrt(w.D)), -1), v));
      }
      const withThreads = <R>(f: () => R): R => {
        const prev = threads === null ? null : backend === 'cpu-wasm' ? T.setCpuWasmThreads(threads) : T.setCpuThreads(threads);
        try {
          return f();
        } finally {
          if (prev !== null) (backend === 'cpu-wasm' ? T.setCpuWasmThreads : T.setCpuThreads)(prev);
        }
      };
      const c: PeerCase = {
        run: backend === 'cpu' || backend === 'cpu-wasm'
          ? () => withThreads(() => fn().dispose())
          : async () => {
            const out = fn();
            await out.data();
            out.dispose();
          },
        dispose: () => inputs.forEach((x) => x.dispose()),
      };
      return Promise.resolve(c);
    },
  };
}

/** A case whose warm-up run takes longer than this (ms) is skipped with a note. */
const SLOW_CASE_MS = 30_000;
/** A case whose warm-up run takes longer than this (ms) is timed once more instead of >= `reps` times. */
const LONG_CASE_MS = 3_000;

/** Median wall-clock ms and median process CPU ms (all threads) per run, and how many runs were timed. */
async function time(c: PeerCase, reps: number): Promise<{ wall: number; cpu: number; reps: number }> {
  const w0 = performance.now();
  await c.run(); // warm-up (JIT, packing, worker start, pipeline compilation)
  const warm = performance.now() - w0;
  if (warm > SLOW_CASE_MS) throw new Error(`skipped: one run took ${(warm / 1000).toFixed(1)} s (over ${SLOW_CASE_MS / 1000} s)`);
  if (warm > LONG_CASE_MS) reps = 1;
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < reps || (reps > 1 && wall.length < 50 && performance.now() - start < 1000)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await c.run();
    wall.push(performance.now() - t0);
    const u = process.cpuUsage(c0);
    cpu.push((u.user + u.system) / 1000);
  }
  const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  return { wall: median(wall), cpu: median(cpu), reps: wall.length };
}

interface Row {
  op: string;
  shape: string;
  impl: string;
  gflops: number;
  /** FLOPs per second of process CPU time (all threads): per-core efficiency, robust to a busy machine. */
  gflopsPerCpuSecond: number;
  /** Memory-bound cases (GEMV, decode attention): bytes of weights or KV cache read per second, in GB/s. */
  gbps?: number;
  /** Timed runs (1 when one run takes over 3 s). */
  reps: number;
}

/** The CPU tiers (readable TS on all threads and one, cpu-wasm on one and two threads). */
async function cpuImpls(threads: number, notes: string[], all: boolean): Promise<Peer[]> {
  const impls: Peer[] = [];
  if (all) {
    impls.push(segllm(`segllm-cpu (${threads} thread${threads > 1 ? 's' : ''})`, 'cpu', threads, notes));
    if (threads > 1) impls.push(segllm('segllm-cpu (1 thread)', 'cpu', 1, notes));
  }
  try {
    const wasm = await T.initCpuWasm({ threads: 2 });
    const counts = wasm.rt.threads > 1 ? [1, 2] : [1];
    for (const n of all ? counts : counts.slice(-1)) impls.push(segllm(`cpu-wasm-${n}t`, 'cpu-wasm', n, notes));
  } catch (e) {
    notes.push(`cpu-wasm rows skipped: ${e instanceof Error ? e.message : String(e)}`);
  }
  return impls;
}

async function webgpuImpl(notes: string[]): Promise<Peer[]> {
  try {
    await T.initWebGPU();
    const info = T.backendInfo();
    notes.push(`webgpu adapter: ${JSON.stringify(info.adapter)}; features: ${JSON.stringify(info.features)}`);
    return [segllm('segllm-webgpu', 'webgpu', null, notes)];
  } catch (e) {
    notes.push(`webgpu rows skipped: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
}

async function peers(kind: 'cpu' | 'webgpu', threads: number, notes: string[]): Promise<Peer[]> {
  try {
    const loaded = kind === 'cpu'
      ? await (await import('@segllm/bench/peers')).loadPeers({ threads })
      : await (await import('@segllm/bench/webgpu-peers')).loadWebGPUPeers();
    notes.push(...loaded.notes);
    return loaded.peers;
  } catch (e) {
    notes.push(`${kind} peers skipped (install the bench workspace: npm install -w @segllm/bench): ${String(e)}`);
    return [];
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const notes: string[] = [];
  const threads = T.cpuThreads();
  // Suites: `cpu` (every CPU tier and the CPU peers), `webgpu` (segllm-webgpu, the fastest CPU tier and the WebGPU
  // peers on the issue-3 shapes); `--backend all` runs both, with WebGPU rows in the CPU suite too.
  const suites: { cases: Case[]; impls: Peer[] }[] = [];
  const gpu = args.backend === 'cpu' ? [] : await webgpuImpl(notes);
  if (args.backend !== 'webgpu') {
    const impls = [...(await cpuImpls(threads, notes, true)), ...gpu, ...(args.peers ? await peers('cpu', threads, notes) : [])];
    suites.push({ cases: CPU_SUITE, impls });
  }
  if (args.backend !== 'cpu' && gpu.length > 0) {
    const impls = [...gpu, ...(await cpuImpls(threads, notes, false)), ...(args.peers ? await peers('webgpu', threads, notes) : [])];
    suites.push({ cases: WEBGPU_SUITE, impls });
  }

  const emit = (r: Row, ref: number | undefined) => {
    if (args.json) console.log(JSON.stringify(r));
    else {
      const ratio = ref === undefined || r.gflops === 0 ? '' : (ref / r.gflops).toFixed(2);
      const gb = r.gbps === undefined ? '' : r.gbps.toFixed(1);
      console.log(`${r.op.padEnd(10)} ${r.shape.padEnd(42)} ${r.impl.padEnd(30)} ${r.gflops.toFixed(2).padStart(8)} ${gb.padStart(7)} ${ratio.padStart(9)} ${r.gflopsPerCpuSecond.toFixed(2).padStart(10)}${r.reps === 1 ? '  (1 run)' : ''}`);
    }
  };
  if (!args.json) {
    console.log(`${'op'.padEnd(10)} ${'shape'.padEnd(42)} ${'implementation'.padEnd(30)} ${'GFLOP/s'.padStart(8)} ${'GB/s'.padStart(7)} ${'ours/this'.padStart(9)} ${'per CPU-s'.padStart(10)}`);
  }
  for (const { cases, impls } of suites) {
    for (const { w, shape } of cases) {
      if (args.only && !args.only.split(',').includes(w.op)) continue;
      let ref: number | undefined;
      for (const impl of impls) {
        let c: PeerCase | null;
        try {
          c = await impl.prepare(w);
        } catch (e) {
          notes.push(`${impl.name} ${w.op} ${shape}: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        if (!c) continue;
        try {
          const ms = await time(c, args.reps);
          const gflops = flops(w) / ms.wall / 1e6;
          ref ??= gflops; // the first implementation of the suite is the reference of the ratios
          const perCpu = Number((flops(w) / Math.max(ms.cpu, 1e-3) / 1e6).toFixed(3));
          const bytes = boundBytes(w, impl.name.startsWith('segllm') || impl.name.startsWith('cpu-wasm'));
          const row: Row = { op: w.op, shape, impl: impl.name, gflops: Number(gflops.toFixed(3)), gflopsPerCpuSecond: perCpu, reps: ms.reps };
          if (bytes !== null) row.gbps = Number((bytes / ms.wall / 1e6).toFixed(2));
          emit(row, ref);
        } catch (e) {
          notes.push(`${impl.name} ${w.op} ${shape}: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          await c.dispose();
        }
      }
    }
  }
  const os = await import('node:os');
  notes.push(`segllm-cpu threads: ${threads} (pool workers started: ${T.poolWorkers()}); load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}`);
  const uniqueNotes = [...new Set(notes)];
  for (const n of uniqueNotes) (args.json ? console.error : console.log)(`note: ${n}`);
  process.exit(0);
}

await main();
