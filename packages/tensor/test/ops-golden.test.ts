/** PyTorch parity for every row of the spec, on every available backend. */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import { availableBackends, loadGoldens, runGoldenCase } from '@segllm/tensor/testing';
import type { Goldens } from '@segllm/tensor/testing';
import { GOLDEN_ROWS } from './spec/index.ts';

const FILE = fileURLToPath(new URL('./fixtures/ops.safetensors', import.meta.url));
const backends = await availableBackends();

describe.each(backends)('ops parity with PyTorch on %s', (backend) => {
  let gold: Goldens;
  beforeAll(async () => {
    gold = await loadGoldens(FILE, backend);
  });
  afterAll(() => gold.dispose());
  it.each(GOLDEN_ROWS.map((r) => [r.case, r] as const))('%s', async (_name, row) => {
    const r = await runGoldenCase(row, gold);
    if (r.skipped) {
      console.warn(`skipped ${row.case} on ${backend}: ${r.skipped}`);
      return;
    }
    expect(r.outputs, JSON.stringify(r)).toSatisfy((o: typeof r.outputs) => Object.values(o).every((v) => v.ok));
    expect(r.grads, JSON.stringify(r)).toSatisfy((o: typeof r.grads) => Object.values(o).every((v) => v.ok));
  });
});
