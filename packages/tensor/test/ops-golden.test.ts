/** PyTorch parity for every row of the spec, on every available backend. */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import { getBackend } from '@segllm/tensor';
import { availableBackends, loadGoldens, missingKernels, runGoldenCase } from '@segllm/tensor/testing';
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
  // a row whose kernels the backend lacks is an explicit skip, with the reason in its name
  const rows = GOLDEN_ROWS.map((row) => {
    const lacks = missingKernels(row, getBackend(backend));
    return [lacks.length ? `${row.case} (skipped: ${backend} lacks ${lacks.join(', ')})` : row.case, row, lacks.length > 0] as const;
  });
  for (const [name, row, skip] of rows) {
    it.skipIf(skip)(name, async () => {
      const r = await runGoldenCase(row, gold);
      expect(r.skipped, r.skipped).toBeUndefined();
      expect(r.error, r.error).toBeUndefined();
      expect(r.outputs, JSON.stringify(r)).toSatisfy((o: typeof r.outputs) => Object.values(o).every((v) => v.ok));
      expect(r.grads, JSON.stringify(r)).toSatisfy((o: typeof r.grads) => Object.values(o).every((v) => v.ok));
    });
  }
});
