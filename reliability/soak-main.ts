/**
 * `npm run soak [-- --rounds 1000 --cycles 100 --backends cpu,cpu-wasm,webgpu --json out.json]`: the soak of
 * soak.ts on each backend (webgpu when an adapter initialises), printing the memory samples as Markdown rows.
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { initCpuWasm, initWebGPU, shutdownCpuWasm, shutdownWebGPU } from '@segllm/tensor';
import { soak, tinyModel } from './soak.ts';
import type { SoakResult } from './soak.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1000' }, cycles: { type: 'string', default: '100' }, backends: { type: 'string', default: 'cpu,cpu-wasm,webgpu' }, json: { type: 'string' } } });
const mb = (b: number) => (b / 2 ** 20).toFixed(2);
const results: SoakResult[] = [];
for (const backend of values.backends.split(',')) {
  try {
    if (backend === 'cpu-wasm') await initCpuWasm();
    if (backend === 'webgpu') await initWebGPU();
  } catch (e) {
    console.log(`\n${backend}: not available here (${(e as Error).message}); skipped`);
    continue;
  }
  const model = await tinyModel(backend);
  console.log(`\n${backend}: ${values.rounds} rounds, ${values.cycles} open/dispose cycles\n\n| at | live tensors | backend MiB | JS heap MiB |\n|---|---:|---:|---:|`);
  const r = await soak(model, {
    backend,
    rounds: Number(values.rounds),
    cycles: Number(values.cycles),
    onSample: (s) => console.log(`| ${s.at} | ${s.liveTensors} | ${mb(s.backendBytes)} | ${mb(s.heapBytes)} |`),
  });
  const [start, ...rest] = r.samples;
  const end = rest[rest.length - 1];
  console.log(`\n${r.rounds} rounds (${r.undos} undos, ${r.resets} resets, ${r.contextResets} resets at the context limit), ${r.cycles} cycles in ${r.seconds.toFixed(0)} s; ` + `after dispose: ${end.liveTensors - start.liveTensors} tensors, ${end.backendBytes - start.backendBytes} bytes over the start`);
  results.push(r);
  model.model.dispose();
  if (backend === 'cpu-wasm') await shutdownCpuWasm();
  if (backend === 'webgpu') shutdownWebGPU();
}
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
const leaked = results.filter((r) => r.samples.some((s) => s.at.startsWith('after') && (s.liveTensors !== r.samples[0].liveTensors || s.backendBytes !== r.samples[0].backendBytes)));
if (leaked.length) {
  console.error(`LEAK on ${leaked.map((r) => r.backend).join(', ')}: memory after dispose differs from the start`);
  process.exitCode = 1;
}
