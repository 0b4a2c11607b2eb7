/**
 * The short seeded fuzz pass (issue 17): every target of `npm run fuzz` for a few seconds with a fixed seed; any
 * untyped error, hang or allocation over the bound fails, with the offending inputs in the message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fuzz } from './fuzz/harness.ts';
import { allTargets, cleanupTargets } from './fuzz/targets.ts';

afterAll(() => cleanupTargets());

describe('fuzz (short seeded pass)', () => {
  for (const t of allTargets()) {
    const cli = t.name.startsWith('CLI');
    it(`${t.name}: no untyped errors, hangs or allocations over 512 MiB`, async () => {
      const r = await fuzz(t, { seed: 17, iterations: cli ? 12 : 400, timeMs: cli ? 20_000 : 3_000, hangMs: 5_000, maxBytes: 512 * 2 ** 20 });
      console.log(`${r.target}: ${r.iterations} runs, ${r.accepted} accepted, ${r.typed} typed ${JSON.stringify(r.typedNames)}, peak growth ${(r.peakGrowth / 2 ** 20).toFixed(0)} MiB`);
      expect(r.findings.map((f) => `${f.kind}: ${f.detail} <- ${f.input}`)).toEqual([]);
      expect(r.iterations).toBeGreaterThan(cli ? 3 : 20);
      expect(r.typed).toBeGreaterThan(0); // the mutations do reach the validators
    });
  }
});
