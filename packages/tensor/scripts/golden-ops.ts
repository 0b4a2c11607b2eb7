/**
 * npm run golden:ops -w @segllm/tensor -- <ops.safetensors> [--backend cpu|webgpu]
 * Prints one JSON line per case ({case, maxAbsErr, maxRelErr, grads, ok} or {case, ok: false, error} or
 * {case, skipped}) and a summary line. Every case runs, whatever failed before it; exit 1 if any failed.
 * Sizes come from the file, so a make_goldens.py file with other shapes works.
 */
import { availableBackends, loadGoldens } from '@segllm/tensor/testing';
import { runGoldenRows } from '../test/spec/run-rows.ts';

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
const summary = await runGoldenRows(gold, (line) => console.log(JSON.stringify(line)));
gold.dispose();
console.log(JSON.stringify({ summary: true, backend, ...summary }));
process.exit(summary.failed ? 1 : 0);
