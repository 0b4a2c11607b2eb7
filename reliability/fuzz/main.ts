/**
 * `npm run fuzz [-- --seed 1 --seconds 30 --iterations 100000 --max-mib 512 --hang-ms 2000 --only pickle,png
 * --json out.json]`: every target for `--seconds` each (or `--iterations`), printing a Markdown table; exits 1
 * on any untyped error, hang or allocation over the bound, listing them.
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { fuzz } from './harness.ts';
import type { FuzzReport } from './harness.ts';
import { allTargets, cleanupTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '30' },
    iterations: { type: 'string', default: '1000000' },
    'max-mib': { type: 'string', default: '512' },
    'hang-ms': { type: 'string', default: '2000' },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});
const only = values.only?.split(',');
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const reports: FuzzReport[] = [];
console.log(`seed ${values.seed}, ${values.seconds} s per target, bound ${values['max-mib']} MiB, hang ${values['hang-ms']} ms\n`);
console.log('| target | iterations | accepted | typed errors | untyped | hangs | over bound | peak growth MiB | peak RSS MiB | slowest ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
try {
  for (const t of allTargets()) {
    if (only && !only.some((o) => t.name.toLowerCase().includes(o.toLowerCase()))) continue;
    const r = await fuzz(t, { seed: Number(values.seed), iterations: Number(values.iterations), timeMs: 1000 * Number(values.seconds), hangMs: Number(values['hang-ms']), maxBytes: Number(values['max-mib']) * 2 ** 20 });
    reports.push(r);
    console.log(`| ${r.target} | ${r.iterations} | ${r.accepted} | ${r.typed} | ${r.untyped} | ${r.hangs} | ${r.overBound} | ${mib(r.peakGrowth)} | ${mib(r.peakRss)} | ${r.slowestMs.toFixed(0)} |`);
  }
} finally {
  cleanupTargets();
}
for (const r of reports) {
  console.log(`\n${r.target}: typed errors ${JSON.stringify(r.typedNames)}`);
  for (const f of r.findings) console.log(`  ${f.kind.toUpperCase()} at iteration ${f.iteration}: ${f.detail}\n    input: ${f.input}`);
}
if (values.json) writeFileSync(values.json, JSON.stringify(reports, null, 2));
if (reports.some((r) => r.untyped || r.hangs || r.overBound)) process.exitCode = 1;
