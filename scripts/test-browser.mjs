#!/usr/bin/env node
// Runs the browser test suites (vitest browser mode in headless Chromium). Without a Chromium it says so loudly and
// skips, unless SEGLLM_EXPECT_BROWSER=1 (CI), where a missing browser is a failure.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  const msg = `browser tests: no Chromium at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.SEGLLM_EXPECT_BROWSER === '1') {
    console.error(`FAIL ${msg}; CI expects one (SEGLLM_EXPECT_BROWSER=1)`);
    process.exit(1);
  }
  console.warn(`\n*** SKIPPED ${msg} ***\n`);
  process.exit(0);
}
// every workspace with browser tests runs, then the web demo, even after a failure; the exit status says whether any failed
let failed = 0;
for (const ws of ['@segllm/tensor', '@segllm/models']) {
  const r = spawnSync('npm', ['run', 'test:browser', '-w', ws], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
// The web demo: two rounds with a click-to-reference and undo, screenshots saved (examples/browser/smoke.ts).
const demo = spawnSync('npx', ['tsx', '--conditions=@segllm/source', 'examples/browser/smoke.ts'], { stdio: 'inherit' });
if (demo.status !== 0) failed++;
process.exit(failed === 0 ? 0 : 1);
