/**
 * npx tsx --conditions=@segllm/source packages/tensor/scripts/webgpu-matmul.ts
 * Times the WebGPU matmul kernel tiers on this machine's adapter. Besides wall-clock GFLOP/s it prints a figure
 * from the CPU time of the driver's worker threads (Linux /proc; meaningful for lavapipe, whose "GPU" is those
 * threads): 2 x FLOP / worker-CPU-seconds estimates the rate on 2 dedicated cores when other jobs share the machine.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { backendInfo, getBackend, initWebGPU, manualSeed, matmul, randn, shutdownWebGPU } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { rt } from '../src/backends/webgpu/backend.ts';
import { BCAST, bcastTile } from '../src/backends/webgpu/kernels/matmul-bcast.ts';

function workerCpuSeconds(): number {
  let s = 0;
  try {
    for (const t of readdirSync('/proc/self/task')) {
      if (Number(t) === process.pid) continue; // the JS thread (it spins while awaiting GPU work)
      const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      s += (Number(f[11]) + Number(f[12])) / 100;
    }
  } catch {
    return NaN;
  }
  return s;
}

await initWebGPU();
const info = backendInfo();
console.log(`adapter: ${JSON.stringify(info.adapter)}`);
const be = getBackend('webgpu');
manualSeed(0);
const cases: [string, number, number, number, 'nn' | 'nt', 'float32' | 'float16'][] = [
  ['matmul 1024 f32', 1024, 1024, 1024, 'nn', 'float32'],
  ['matmul 1024 f32, B transposed (linear)', 1024, 1024, 1024, 'nt', 'float32'],
  ['matmul 1024 f16', 1024, 1024, 1024, 'nn', 'float16'],
  ['GEMV 1x4096 . 4096x4096 f32', 1, 4096, 4096, 'nn', 'float32'],
  ['GEMV 1x4096 . (4096x4096)^T f32', 1, 4096, 4096, 'nt', 'float32'],
];
// On CPU adapters with subgroups the GEMM cases run in both tiers, alternating (two rounds): the broadcast GEMM
// (kernels/matmul-bcast.ts) and the register-tiled GEMM it replaces there.
const tiers = rt().cpuAdapter && bcastTile() !== null ? ['bcast', 'tiled', 'bcast', 'tiled'] : ['default'];
for (const [label, M, K, N, layout, dtype] of cases) {
  if (!be.supports('matmul', dtype)) {
    console.log(`${label}: skipped (no ${dtype} on this adapter)`);
    continue;
  }
  const a = randn([M, K], { backend: 'webgpu' }).to(dtype);
  const b0 = randn(layout === 'nn' ? [K, N] : [N, K], { backend: 'webgpu' }).to(dtype);
  const b: Tensor = layout === 'nn' ? b0 : b0.transpose(0, 1);
  for (const tier of M > 4 ? tiers : ['default']) {
    BCAST.enabled = tier !== 'tiled';
    matmul(a, b).dispose();
    await be.sync!();
    const reps = M === 1 ? 20 : 3;
    const c0 = workerCpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) matmul(a, b).dispose();
    await be.sync!();
    const wall = (performance.now() - t0) / 1000;
    const cpu = workerCpuSeconds() - c0;
    const gflop = (2 * M * K * N * reps) / 1e9;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    console.log(
      `${label}${tier === 'default' ? '' : ` [${tier}]`}: ${((wall / reps) * 1000).toFixed(1)} ms, ${(gflop / wall).toFixed(2)} GFLOP/s wall; ` +
        `${((2 * gflop) / cpu).toFixed(1)} GFLOP/s on 2 dedicated cores (from ${cpu.toFixed(2)} s worker CPU; load ${load})`,
    );
  }
  BCAST.enabled = true;
  for (const t of [a, b0]) t.dispose();
}
shutdownWebGPU();
