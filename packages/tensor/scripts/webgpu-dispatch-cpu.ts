/**
 * npx tsx --conditions=@segllm/source packages/tensor/scripts/webgpu-dispatch-cpu.ts [rounds]
 * CPU time of the JS thread per small WebGPU op, read from /proc/self/task/<pid>/schedstat (nanoseconds of CPU the
 * thread actually ran, so time the scheduler gave to other jobs on a loaded machine does not count, unlike
 * performance.now() around each op in webgpu-dispatch.ts; the kernel updates it at scheduler ticks, so batches are
 * long: 20,000 ops per round, a sync every 2,000, not counted).
 * Cases: the same op repeated (the best case: same pipeline, bind group and uniforms), two ops alternating on
 * different buffers, and a 4-op chain of different kernels (what a model's elementwise code does).
 */
import { readFileSync } from 'node:fs';
import { initWebGPU, shutdownWebGPU, tensor, tidy } from '@segllm/tensor';

const statPath = `/proc/self/task/${process.pid}/schedstat`;
const threadNs = (): number => Number(readFileSync(statPath, 'utf8').split(' ')[0]);

const be = await initWebGPU();
const rounds = Number(process.argv[2] ?? 5);
const a = tensor(Array.from({ length: 64 }, (_, i) => i), { backend: 'webgpu' });
const b = tensor(Array.from({ length: 64 }, (_, i) => 2 * i), { backend: 'webgpu' });
const c = tensor(Array.from({ length: 256 }, (_, i) => i / 256), { backend: 'webgpu', shape: [4, 64] });

async function round(f: (i: number) => void, opsPerCall: number, n = 20_000): Promise<number> {
  let ns = 0;
  for (let i = 0; i < n; i += 2000) {
    const t = threadNs();
    for (let j = 0; j < 2000; j++) tidy(() => f(i + j));
    ns += threadNs() - t;
    await be.sync();
  }
  return ns / 1000 / (n * opsPerCall);
}

const cases: [string, (i: number) => void, number][] = [
  ['add [64]+[64], repeated', () => void a.add(b), 1],
  ['add [64]+[64] and mul [64]*[64], alternating buffers', (i) => void (i & 1 ? a.add(b) : b.mul(a)), 1],
  ['chain c.mul(2).add(a).exp().neg() ([4, 64], broadcast)', () => void c.mul(2).add(a).exp().neg(), 4],
];
for (const [label, f, k] of cases) {
  await round(f, k, 2000); // warm-up (pipelines, pools)
  const t: number[] = [];
  for (let r = 0; r < rounds; r++) t.push(await round(f, k));
  t.sort((x, y) => x - y);
  console.log(`${label}: best ${t[0].toFixed(1)} us, median ${t[t.length >> 1].toFixed(1)} us JS-thread CPU per op`);
}
shutdownWebGPU();
