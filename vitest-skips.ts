/**
 * Skips are visible and bounded: this reporter prints every skipped test with its reason after the run, and fails
 * the run (exit code 1) on a skip that is not on the allow-list below, under `npm run test:unit` (hence `npm test`
 * and CI) or SEGLLM_CHECK_SKIPS=1; a plain `npx vitest run -t ...` only prints, since a filter skips everything it
 * leaves out. A skip's reason is its `ctx.skip(note)` note, else the allow-list entry's.
 *
 * To skip a test: `it.skipIf(cond)` / `describe.skipIf(cond)`, or `ctx.skip('why')` inside it, and add an entry
 * here saying why that skip is legitimate. Never `return` early from a test body.
 */
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export interface AllowedSkip {
  /** Matched against the test's full name (describe titles and test title joined by ' > '). */
  name: RegExp;
  reason: string;
}

export const ALLOWED_SKIPS: AllowedSkip[] = [
  // The WebGPU suites need an adapter. CI installs lavapipe and sets SEGLLM_EXPECT_WEBGPU=1, so there a missing
  // adapter fails in testing/backends.ts before any of these can skip.
  { name: /^webgpu /, reason: 'no WebGPU adapter on this machine (CI: SEGLLM_EXPECT_WEBGPU=1 makes this a failure)' },
  // float16 storage on WebGPU needs the adapter's shader-f16 feature (lavapipe and every CI adapter have it).
  { name: /float16 .*\(needs shader-f16\)/, reason: 'the WebGPU adapter lacks shader-f16' },
  // Sparse files are a POSIX feature: the 10 GB shard would really be written on Windows.
  { name: /past 4 GiB of a 10 GB \(sparse\) shard/, reason: 'win32 has no sparse files' },
  // The worker pool needs SharedArrayBuffer and more than one core.
  { name: /back-to-back tiny jobs/, reason: 'cpu-wasm runs single-threaded here (no worker pool)' },
];

/** `npm run test:unit` (and so `npm test`) enforces the list; so does SEGLLM_CHECK_SKIPS=1. */
function enforced(): boolean {
  return process.env.SEGLLM_CHECK_SKIPS === '1' || process.env.npm_lifecycle_event === 'test:unit';
}

interface Skip {
  name: string;
  file: string;
  reason: string | null;
}

export default class SkipReporter implements Reporter {
  #filter: string | null = null;

  onInit(vitest: Vitest): void {
    const p = vitest.config.testNamePattern;
    this.#filter = p ? String(p) : null;
  }

  onTestRunEnd(modules: readonly TestModule[]): void {
    if (this.#filter) {
      console.log(`\nSkips not checked: the name filter ${this.#filter} skips every test it leaves out`);
      return;
    }
    const skips: Skip[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state !== 'skipped') continue;
        const allowed = ALLOWED_SKIPS.find((a) => a.name.test(t.fullName));
        skips.push({ name: t.fullName, file: m.relativeModuleId, reason: allowed ? (r.note ?? allowed.reason) : null });
      }
    }
    if (skips.length === 0) {
      console.log('\nSkipped: none');
      return;
    }
    const byReason = new Map<string, Skip[]>();
    for (const s of skips) {
      const key = s.reason ?? 'NOT ON THE ALLOW-LIST (vitest-skips.ts)';
      byReason.set(key, [...(byReason.get(key) ?? []), s]);
    }
    console.log(`\nSkipped: ${skips.length}`);
    for (const [reason, list] of byReason) {
      console.log(`  ${list.length} x ${reason}`);
      for (const s of list.slice(0, 5)) console.log(`      ${s.file}: ${s.name}`);
      if (list.length > 5) console.log(`      ... and ${list.length - 5} more`);
    }
    const bad = skips.filter((s) => s.reason === null);
    if (bad.length > 0 && enforced()) {
      console.error(`\n${bad.length} skip(s) not on the allow-list in vitest-skips.ts: make the test run, or add an entry saying why it may skip`);
      process.exitCode = 1;
    }
  }
}
