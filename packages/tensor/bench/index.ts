/**
 * `npm run bench -w @segllm/tensor [-- --json] [--backend cpu|webgpu|all] [--no-peers] [--reps N] [--only matmul,conv2d,attention (any of them)]`
 *
 * GFLOP/s of @segllm/tensor's CPU backend (all threads, and one thread) for matmul, conv2d and attention, next to
 * TF.js (cpu, wasm) and onnxruntime-node on the same shapes (peers from the private @segllm/bench workspace),
 * with the ratio of segllm-cpu to each. Every figure is the median of >= `reps` timings after one warm-up run.
 * `--json` prints one object per row: {"op", "shape", "impl", "gflops", "gflopsPerCpuSecond"}; notes go to stderr.
 * gflopsPerCpuSecond divides by the process CPU time (all threads) instead of wall time: on a shared, busy machine
 * it still shows per-core efficiency, while gflops (wall time) is what a user waits for.
 */
import * as T from '@segllm/tensor';
import type { Peer, PeerCase, Workload } from '@segllm/bench/peers';

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

const WORKLOADS: { w: Workload; shape: string }[] = [
  { w: { op: 'matmul', M: 256, K: 256, N: 256 }, shape: '256x256 . 256x256' },
  { w: { op: 'matmul', M: 512, K: 512, N: 512 }, shape: '512x512 . 512x512' },
  { w: { op: 'matmul', M: 1024, K: 1024, N: 1024 }, shape: '1024x1024 . 1024x1024' },
  { w: { op: 'matmul', M: 1, K: 4096, N: 4096 }, shape: '1x4096 . 4096x4096' },
  { w: { op: 'matmul', M: 577, K: 1024, N: 4096 }, shape: '577x1024 . 1024x4096' },
  // GEMV with float16 activations and weights on segllm backends (decode); peers run it in float32.
  { w: { op: 'matmul', M: 1, K: 4096, N: 4096, halfWeights: true } as Workload, shape: '1x4096 . 4096x4096 f16 (peers f32)' },
  { w: { op: 'conv2d', N: 1, C: 64, H: 56, W: 56, O: 64, k: 3, pad: 1 }, shape: '1x64x56x56, 64x64x3x3, pad 1' },
  { w: { op: 'attention', H: 16, T: 577, D: 64 }, shape: '16 heads x 577 tokens x 64' },
];

function flops(w: Workload): number {
  if (w.op === 'matmul') return 2 * w.M * w.K * w.N;
  if (w.op === 'conv2d') return 2 * w.N * w.O * w.C * w.k * w.k * (w.H + 2 * w.pad - w.k + 1) * (w.W + 2 * w.pad - w.k + 1);
  return 4 * w.H * w.T * w.T * w.D; // QK^T and PV; softmax not counted
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
      const t = (shape: number[], seed: number) => T.tensor(values(shape.reduce((a, b) => a * b, 1), seed), { shape, backend });
      let inputs: T.Tensor[];
      let fn: () => T.Tensor;
      if (w.op === 'matmul') {
        const half = (make: () => T.Tensor) => T.tidy(() => ((w as { halfWeights?: boolean }).halfWeights ? make().to('float16') : make()));
        const [a, b] = [half(() => t([w.M, w.K], 1)), half(() => t([w.K, w.N], 2))];
        inputs = [a, b];
        fn = () => T.matmul(a, b);
      } else if (w.op === 'conv2d') {
        if (!('conv2d' in T)) {
          notes.push('conv2d rows skipped: conv2d is not exported from src/ops/index.ts yet');
          return Promise.resolve(null);
        }
        const [x, f] = [t([w.N, w.C, w.H, w.W], 1), t([w.O, w.C, w.k, w.k], 2)];
        inputs = [x, f];
        fn = () => T.conv2d(x, f, null, { padding: w.pad });
      } else {
        const s = [1, w.H, w.T, w.D];
        const [q, k, v] = [t(s, 1), t(s, 2), t(s, 3)];
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

/** A case whose warm-up run takes longer than this (ms) is skipped with a note instead of timed >= 5 times. */
const SLOW_CASE_MS = 30_000;

/** Median wall-clock ms and median process CPU ms (all threads) per run. */
async function time(c: PeerCase, reps: number): Promise<{ wall: number; cpu: number }> {
  const w0 = performance.now();
  await c.run(); // warm-up (JIT, packing, worker start)
  const warm = performance.now() - w0;
  if (warm > SLOW_CASE_MS) throw new Error(`skipped: one run took ${(warm / 1000).toFixed(1)} s (over ${SLOW_CASE_MS / 1000} s)`);
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < reps || (wall.length < 50 && performance.now() - start < 1000)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await c.run();
    wall.push(performance.now() - t0);
    const u = process.cpuUsage(c0);
    cpu.push((u.user + u.system) / 1000);
  }
  const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  return { wall: median(wall), cpu: median(cpu) };
}

interface Row {
  op: string;
  shape: string;
  impl: string;
  gflops: number;
  /** FLOPs per second of process CPU time (all threads): per-core efficiency, robust to a busy machine. */
  gflopsPerCpuSecond: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const notes: string[] = [];
  const threads = T.cpuThreads();
  const impls: Peer[] = [];
  if (args.backend !== 'webgpu') {
    impls.push(segllm(`segllm-cpu (${threads} thread${threads > 1 ? 's' : ''})`, 'cpu', threads, notes));
    if (threads > 1) impls.push(segllm('segllm-cpu (1 thread)', 'cpu', 1, notes));
  }
  if (args.backend !== 'webgpu') {
    try {
      const wasm = await T.initCpuWasm({ threads: 2 });
      for (const n of wasm.rt.threads > 1 ? [1, 2] : [1]) impls.push(segllm(`cpu-wasm-${n}t`, 'cpu-wasm', n, notes));
    } catch (e) {
      notes.push(`cpu-wasm rows skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (args.backend !== 'cpu') {
    try {
      const gpu = await T.initWebGPU();
      void gpu;
      impls.push(segllm('segllm-webgpu', 'webgpu', null, notes));
    } catch (e) {
      notes.push(`webgpu rows skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (args.peers && args.backend !== 'webgpu') {
    try {
      const mod = await import('@segllm/bench/peers');
      const loaded = await mod.loadPeers({ threads });
      impls.push(...loaded.peers);
      notes.push(...loaded.notes);
    } catch (e) {
      notes.push(`peers skipped (install the bench workspace: npm install -w @segllm/bench): ${String(e)}`);
    }
  }

  const rows: Row[] = [];
  const emit = (r: Row, ref: number | undefined) => {
    rows.push(r);
    if (args.json) console.log(JSON.stringify(r));
    else {
      const ratio = ref === undefined || r.gflops === 0 ? '' : (ref / r.gflops).toFixed(2);
      console.log(`${r.op.padEnd(10)} ${r.shape.padEnd(30)} ${r.impl.padEnd(34)} ${r.gflops.toFixed(2).padStart(8)} ${ratio.padStart(10)} ${r.gflopsPerCpuSecond.toFixed(2).padStart(12)}`);
    }
  };
  if (!args.json) {
    console.log(`${'op'.padEnd(10)} ${'shape'.padEnd(30)} ${'implementation'.padEnd(34)} ${'GFLOP/s'.padStart(8)} ${'ours/this'.padStart(10)} ${'per CPU-s'.padStart(12)}`);
  }
  for (const { w, shape } of WORKLOADS) {
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
        ref ??= gflops; // the first implementation (segllm, all threads) is the reference of the ratios
        const perCpu = Number((flops(w) / Math.max(ms.cpu, 1e-3) / 1e6).toFixed(3));
        emit({ op: w.op, shape, impl: impl.name, gflops: Number(gflops.toFixed(3)), gflopsPerCpuSecond: perCpu }, ref);
      } catch (e) {
        notes.push(`${impl.name} ${w.op} ${shape}: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        await c.dispose();
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
