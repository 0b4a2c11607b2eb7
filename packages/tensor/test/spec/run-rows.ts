/** Runs every spec row against a golden file, one report line per case; used by `golden:ops` and its test. */
import { runGoldenCase } from '@segllm/tensor/testing';
import type { Goldens } from '@segllm/tensor/testing';
import { GOLDEN_ROWS } from './index.ts';

export interface RowsSummary {
  passed: number;
  failed: number;
  skipped: number;
}

/** A row none of whose inputs are in the file is skipped (files may hold a subset); any other problem is a failure. */
export async function runGoldenRows(gold: Goldens, report: (line: Record<string, unknown>) => void): Promise<RowsSummary> {
  const s: RowsSummary = { passed: 0, failed: 0, skipped: 0 };
  for (const row of GOLDEN_ROWS) {
    if (!Object.values(row.inputs).some((k) => gold.has(k))) {
      s.skipped++;
      report({ case: row.case, skipped: 'not in this file' });
      continue;
    }
    const r = await runGoldenCase(row, gold);
    if (r.skipped) {
      s.skipped++;
      report({ case: r.case, skipped: r.skipped });
      continue;
    }
    if (r.ok) s.passed++;
    else s.failed++;
    const grads = Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, v.maxAbsErr]));
    report({ case: r.case, maxAbsErr: r.maxAbsErr, maxRelErr: r.maxRelErr, grads, ok: r.ok, ...(r.error ? { error: r.error } : {}) });
  }
  return s;
}
