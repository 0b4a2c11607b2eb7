/**
 * npm run golden:ops -w @segllm/tensor -- <ops.safetensors> [--backend cpu|webgpu]
 * Prints one JSON line per case ({case, maxAbsErr, maxRelErr, grads}) and a summary line; exit 1 on any failure.
 */
import { availableBackends, loadGoldens, runGoldenCase } from '@segllm/tensor/testing';
import { GOLDEN_ROWS } from '../test/spec/index.ts';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const bi = args.indexOf('--backend');
const backend = bi >= 0 ? args[bi + 1] : 'cpu';
if (!file) {
  console.error('usage: golden-ops <ops.safetensors> [--backend cpu|webgpu]');
  process.exit(2);
}
if (!(await availableBackends()).includes(backend)) {
  console.error(`backend '${backend}' is not available here`);
  process.exit(2);
}
const gold = await loadGoldens(file, backend);
let pass = 0;
let fail = 0;
let skip = 0;
for (const row of GOLDEN_ROWS) {
  if (!Object.values(row.inputs).every((k) => gold.has(k))) {
    skip++;
    continue;
  }
  const r = await runGoldenCase(row, gold);
  if (r.skipped) skip++;
  else if (r.ok) pass++;
  else fail++;
  const grads = Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, v.maxAbsErr]));
  console.log(JSON.stringify({ case: r.case, maxAbsErr: r.maxAbsErr, maxRelErr: r.maxRelErr, grads, ok: r.ok, ...(r.skipped ? { skipped: r.skipped } : {}) }));
}
console.log(JSON.stringify({ summary: true, backend, passed: pass, failed: fail, skipped: skip }));
process.exit(fail ? 1 : 0);
