/**
 * `npm run golden -w @segllm/core -- hipie-loss`: one JSON line per compared tensor, a failing case reported and the
 * run going on, false (exit 1) when anything failed. Uses the loss goldens of @segllm/models' tests.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { deserializeSafetensors, serializeSafetensors } from '@segllm/tensor';
import { runHipieLossGolden } from '../scripts/golden-hipie-loss.ts';

const FIXTURE = fileURLToPath(new URL('../../models/test/fixtures/hipie-loss/hipie_loss.safetensors.gz', import.meta.url));

async function run(args: string[]): Promise<{ ok: boolean; lines: Record<string, unknown>[] }> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const ok = await runHipieLossGolden(args);
    return { ok, lines: out.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>) };
  } finally {
    out.mockRestore();
  }
}

describe('golden hipie-loss', () => {
  it('passes on the fixture, one line per compared tensor with name, errors and pass', async () => {
    const { ok, lines } = await run([FIXTURE, '--case', 'pair']);
    expect(ok).toBe(true);
    const rows = lines.filter((l) => 'name' in l);
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['pair.match.0.query', 'pair.loss.loss_dice', 'pair.loss.total', 'pair.grad.pred_masks']));
    for (const r of rows) expect(Object.keys(r)).toEqual(expect.arrayContaining(['name', 'maxAbsErr', 'maxRelErr', 'pass']));
    expect(rows.every((r) => r.pass === true)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ summary: 'hipie-loss', cases: ['pair'], failed: 0, ok: true });
  }, 120_000);

  it('reports a wrong value and a case that cannot run, and goes on with the other cases', async () => {
    const { tensors, metadata } = deserializeSafetensors(gunzipSync(readFileSync(FIXTURE)));
    const ce = tensors['pair.loss.loss_ce'].data as Float32Array;
    ce[0] *= 1.001;
    delete tensors['conflict.match.0.query'];
    const dir = mkdtempSync(join(tmpdir(), 'hipie-loss-golden-'));
    const file = join(dir, 'tampered.safetensors');
    try {
      writeFileSync(file, serializeSafetensors(tensors, metadata));
      const { ok, lines } = await run([file, '--case', 'conflict', '--case', 'pair', '--case', 'single']);
      expect(ok).toBe(false);
      const failed = lines.filter((l) => l.pass === false);
      expect(failed.map((l) => l.name)).toEqual(['conflict', 'pair.loss.loss_ce']);
      expect(String(failed[0].error)).toContain('conflict.match.0.query');
      expect(lines.filter((l) => 'case' in l).map((l) => [l.case, l.failed])).toEqual([['conflict', 1], ['pair', 1], ['single', 0]]);
      expect(lines.at(-1)).toMatchObject({ failed: 2, failedCases: ['conflict', 'pair'], ok: false });
    } finally {
      rmSync(dir, { recursive: true });
    }
  }, 120_000);
});
