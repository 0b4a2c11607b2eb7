/**
 * CPU time per small WebGPU op: 10,000 tiny adds (64 elements) per round, a sync every 100, timed with
 * performance.now() around each op (the recording cost on the JS thread); rounds alternate the dispatch paths
 * (bind groups created per dispatch vs cached) so machine load hits both alike. Prints the best and median round.
 * Run: npx tsx --conditions=@segllm/source packages/tensor/scripts/webgpu-dispatch.ts [rounds]
 */
import { initWebGPU, shutdownWebGPU, tensor, tidy } from '@segllm/tensor';

const be = await initWebGPU();
const rounds = Number(process.argv[2] ?? 3);
const a = tensor(Array.from({ length: 64 }, (_, i) => i), { backend: 'webgpu' });
const b = tensor(Array.from({ length: 64 }, (_, i) => 2 * i), { backend: 'webgpu' });
const c = tensor(Array.from({ length: 63 }, (_, i) => i), { backend: 'webgpu' });

async function round(f: () => void, n = 10_000): Promise<number> {
  let cpu = 0;
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    tidy(f);
    cpu += performance.now() - s;
    if (i % 100 === 99) await be.sync();
  }
  await be.sync();
  return (cpu / n) * 1000;
}

const cases: [string, () => void][] = [
  ['add [64]+[64] (vec4 path)', () => void a.add(b)],
  ['add [63]+[63] (scalar path)', () => void c.add(c)],
  ['add [64]+scalar', () => void a.add(1)],
];
for (const [label, f] of cases) {
  const t: Record<string, number[]> = { 'per-dispatch bind groups': [], 'cached bind groups': [] };
  for (let r = 0; r < rounds; r++) {
    for (const cached of [false, true]) {
      be.runtime.cacheBindGroups = cached;
      await round(f, 300); // warm-up
      t[cached ? 'cached bind groups' : 'per-dispatch bind groups'].push(await round(f));
    }
  }
  for (const [k, v] of Object.entries(t)) {
    v.sort((x, y) => x - y);
    console.log(`${label}, ${k}: best ${v[0].toFixed(1)} us, median ${v[v.length >> 1].toFixed(1)} us CPU per op`);
  }
}
be.runtime.cacheBindGroups = true;
shutdownWebGPU();
