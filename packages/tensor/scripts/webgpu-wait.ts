/**
 * npx tsx --conditions=@segllm/source packages/tensor/scripts/webgpu-wait.ts [rounds]
 * The wait modes (InitOptions.waitMode) against each other, alternating in one process so that machine load hits
 * both alike: matmul 1024 f32 (3 per sync) in wall-clock GFLOP/s with the JS thread's CPU time, and the latency of a
 * tiny op followed by a readback (frequent small awaits).
 */
import { readFileSync } from 'node:fs';
import { initWebGPU, matmul, randn, shutdownWebGPU, tensor, tidy } from '@segllm/tensor';

/** CPU seconds of this process's main (JS) thread (Linux /proc). */
function mainThreadCpu(): number {
  try {
    const st = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const be = await initWebGPU();
const rt = be.runtime;
console.log(`adapter: ${JSON.stringify(rt.adapterInfo)}; cpuAdapter ${rt.cpuAdapter}; default wait mode ${rt.waitMode}`);
const rounds = Number(process.argv[2] ?? 4);
const a = randn([1024, 1024], { backend: 'webgpu' });
const b = randn([1024, 1024], { backend: 'webgpu' });
const s = tensor([1, 2, 3, 4], { backend: 'webgpu' });
matmul(a, b).dispose();
await be.sync();
await s.add(1).data();
const modes = ['spin', 'sleep'] as const;
const res: Record<string, { gflops: number[]; js: number[]; lat: number[] }> = {};
for (const m of modes) res[m] = { gflops: [], js: [], lat: [] };
for (let r = 0; r < rounds; r++) {
  for (const m of r % 2 ? [...modes].reverse() : modes) {
    rt.setWaitMode(m);
    const c0 = mainThreadCpu();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) matmul(a, b).dispose();
    await be.sync();
    const wall = (performance.now() - t0) / 1000;
    res[m].gflops.push((3 * 2 * 1024 ** 3) / wall / 1e9);
    res[m].js.push((mainThreadCpu() - c0) / wall);
    const t1 = performance.now();
    for (let i = 0; i < 50; i++) await tidy(() => s.add(i)).data();
    res[m].lat.push(((performance.now() - t1) / 50) * 1000);
  }
}
const med = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
for (const m of modes) {
  const x = res[m];
  console.log(
    `${m}: matmul 1024 f32 ${x.gflops.map((g) => g.toFixed(2)).join(' / ')} GFLOP/s wall (median ${med(x.gflops).toFixed(2)}), ` +
      `JS thread busy ${(med(x.js) * 100).toFixed(0)}% of the wall time; tiny op + readback ${med(x.lat).toFixed(0)} us (median of ${rounds})`,
  );
}
console.log(`load average ${load}; wait counters ${JSON.stringify(rt.wait.counts)}`);
shutdownWebGPU();
