/**
 * npx tsx --conditions=@segllm/source packages/tensor/scripts/webgpu-variants.ts [reps]
 * Times the adapter-/shape-dependent WebGPU kernel variants against the paths they replace, alternating the two
 * so machine load hits both alike: split-K matmul vs one pass, split-K decode attention vs one workgroup per row,
 * subgroup reductions vs workgroup-memory trees. Prints the best wall-clock time per op and the driver's worker
 * CPU time per op (lavapipe: its "GPU" is those threads), each the best of `reps` rounds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { getBackend, initWebGPU, layerNorm, linear, manualSeed, randn, scaledDotProductAttention, shutdownWebGPU, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { rt } from '../src/backends/webgpu/backend.ts';
import { SPLIT_K } from '../src/backends/webgpu/kernels/matmul.ts';
import { SPLIT_ATTN } from '../src/backends/webgpu/kernels/attention.ts';

function workerCpuSeconds(): number {
  let s = 0;
  for (const t of readdirSync('/proc/self/task')) {
    if (Number(t) === process.pid) continue;
    const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    s += (Number(f[11]) + Number(f[12])) / 100;
  }
  return s;
}

await initWebGPU();
const be = getBackend('webgpu');
const rounds = Number(process.argv[2] ?? 3);
manualSeed(0);

async function time(f: () => Tensor, n: number): Promise<[number, number]> {
  tidy(() => void f());
  await be.sync!();
  const c0 = workerCpuSeconds();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) tidy(() => void f());
  await be.sync!();
  return [(performance.now() - t0) / n, ((workerCpuSeconds() - c0) * 1000) / n];
}

async function compare(label: string, f: () => Tensor, n: number, modes: [string, () => void][]): Promise<void> {
  const best: Record<string, [number, number]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, set] of modes) {
      set();
      const [w, c] = await time(f, n);
      const b = best[name];
      best[name] = b ? [Math.min(b[0], w), Math.min(b[1], c)] : [w, c];
    }
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  console.log(`${label} (load ${load}):`);
  for (const [name, [w, c]] of Object.entries(best)) console.log(`  ${name}: ${w.toFixed(2)} ms wall, ${c.toFixed(2)} ms worker CPU per op`);
}

const r = rt();
const minK = SPLIT_K.minK;
const minKeys = SPLIT_ATTN.minKeys;
const a = randn([8, 8192], { backend: 'webgpu' });
const w = randn([32, 8192], { backend: 'webgpu' });
await compare('linear [8, 8192] x [32, 8192]^T', () => linear(a, w), 5, [
  ['one pass', () => (SPLIT_K.minK = Infinity)],
  ['split-K', () => (SPLIT_K.minK = minK)],
]);
const x1 = a.narrow(0, 0, 1);
await compare('linear [1, 8192] x [32, 8192]^T (GEMV)', () => linear(x1, w), 10, [
  ['one pass', () => (SPLIT_K.minK = Infinity)],
  ['split-K', () => (SPLIT_K.minK = minK)],
]);
SPLIT_K.minK = minK;
const q = randn([1, 8, 1, 64], { backend: 'webgpu' });
const k = randn([1, 2, 4096, 64], { backend: 'webgpu' });
const v = randn([1, 2, 4096, 64], { backend: 'webgpu' });
await compare('sdpa decode: 8 query heads on 2 kv heads, 1 row, 4096 keys, D 64', () => scaledDotProductAttention(q, k, v, { isCausal: true }), 5, [
  ['one workgroup per row', () => (SPLIT_ATTN.minKeys = Infinity)],
  ['split-K (flash-decoding)', () => (SPLIT_ATTN.minKeys = minKeys)],
]);
SPLIT_ATTN.minKeys = minKeys;
const sg = r.useSubgroups;
const modes: [string, () => void][] = [
  ['workgroup memory', () => (r.useSubgroups = false)],
  ...(r.features.has('subgroups') ? [['subgroups', () => (r.useSubgroups = true)] as [string, () => void]] : []),
];
const big = randn([512, 2048], { backend: 'webgpu' });
await compare('sum over rows [512, 2048] -> [512]', () => big.sum(1), 10, modes);
await compare('max over rows [512, 2048] -> [512]', () => big.max(1), 10, modes);
await compare('argmax over rows [512, 2048] -> [512]', () => big.argmax(1), 10, modes);
await compare('layerNorm [512, 2048]', () => layerNorm(big, [2048]), 10, modes);
r.useSubgroups = sg;
shutdownWebGPU();
