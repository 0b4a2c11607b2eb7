/**
 * SegLLM's HIPIE training loss against the official code's goldens (fixtures/hipie-loss, see the README there): every
 * case (single, pair, batch, conflict, deep) on every backend — SimOTA / Hungarian indices exact, matcher costs and
 * IoUs to 1e-5, every loss term to 1e-5 relative, every gradient to 1e-4 relative, the uncertainty selection
 * recomputed from the stored candidates equal as a set.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { liveTensorCount, openSafetensors } from '@segllm/tensor';
import { availableBackends } from '@segllm/tensor/testing';
import { hipieLossCaseNames, judgeLossComparison, runHipieLossCase } from '../src/index.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/hipie-loss/hipie_loss.safetensors.gz', import.meta.url));
const store = await openSafetensors(gunzipSync(readFileSync(FIXTURE)));
const CASES = hipieLossCaseNames(store.keys());

describe('HIPIE loss golden file', () => {
  it('holds the five cases', () => {
    expect(CASES.sort()).toEqual(['batch', 'conflict', 'deep', 'pair', 'single']);
  });
});

describe.each(await availableBackends())('HIPIE loss goldens on %s', (backend) => {
  it.each(CASES)('case %s: matches, terms and gradients', async (name) => {
    const live = liveTensorCount();
    const comparisons = await runHipieLossCase(store, name, backend);
    expect(liveTensorCount()).toBe(live); // the loss, its gradients and the replay leave nothing behind
    const failed = comparisons.map((c) => ({ name: c.name, ...judgeLossComparison(c) })).filter((r) => !r.pass);
    expect(failed).toEqual([]);
    const names = comparisons.map((c) => c.name);
    // the case really compared its matcher output, its total and its gradients
    expect(names.some((n) => /match\.0\.query$/.test(n))).toBe(true);
    expect(names.some((n) => /loss\.total(_hipie)?$/.test(n))).toBe(true);
    expect(names.filter((n) => n.includes('.grad.')).length).toBeGreaterThanOrEqual(4);
    if (name === 'single') expect(names).toContain('single.points.selected_as_set');
  }, 120_000);
});
