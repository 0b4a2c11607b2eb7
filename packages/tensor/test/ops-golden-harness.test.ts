/**
 * The golden harness takes every size from the file and reports a broken case without stopping: ops-variant.safetensors
 * (make_ops_variant.py: make_goldens.py's case names with other shapes) passes every row, and a file with corrupted
 * cases reports each of them while the rest still run, through runGoldenRows and through `golden:ops`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { deserializeSafetensors, serializeSafetensors, tensor } from '@segllm/tensor';
import { availableBackends, loadGoldens } from '@segllm/tensor/testing';
import { GOLDEN_ROWS } from './spec/index.ts';
import { runGoldenRows } from './spec/run-rows.ts';

const VARIANT = fileURLToPath(new URL('./fixtures/ops-variant.safetensors', import.meta.url));
const backends = await availableBackends();

async function rowsOf(file: string | Uint8Array, backend: string, edit?: (g: Awaited<ReturnType<typeof loadGoldens>>) => void) {
  const gold = await loadGoldens(file, backend);
  edit?.(gold);
  const lines: Record<string, unknown>[] = [];
  const summary = await runGoldenRows(gold, (l) => lines.push(l));
  gold.dispose();
  return { lines, summary };
}

describe.each(backends)('golden harness on %s', (backend) => {
  it('runs a file with the same case names and other shapes (every size from the file)', async () => {
    const { lines, summary } = await rowsOf(VARIANT, backend);
    expect(lines.map((l) => l.case)).toEqual(GOLDEN_ROWS.map((r) => r.case));
    for (const l of lines) expect(l.ok === true || typeof l.skipped === 'string', JSON.stringify(l)).toBe(true);
    expect(summary.failed).toBe(0);
    expect(summary.passed + summary.skipped).toBe(GOLDEN_ROWS.length);
  });
});

describe('golden harness with corrupted cases', () => {
  const corrupt = {
    layernorm: 'the weight has the wrong size: layerNorm throws',
    rope: 'the expected output has another shape',
    sdpa: 'an input is missing from the file',
    'act.silu': 'the expected values are wrong',
  };

  it('reports each broken case and runs every other one', async () => {
    const { lines, summary } = await rowsOf(VARIANT, 'cpu', (g) => {
      g.tensors.set('layernorm.weight', tensor([1, 2, 3], { dtype: 'float32' }));
      g.tensors.set('rope.out', tensor(new Float32Array(6), { shape: [2, 3] }));
      g.tensors.get('sdpa.v')!.dispose();
      g.tensors.delete('sdpa.v');
      const silu = g.get('act.silu.out');
      g.tensors.set('act.silu.out', silu.add(0.5));
      silu.dispose();
    });
    expect(lines.map((l) => l.case)).toEqual(GOLDEN_ROWS.map((r) => r.case));
    const failed = lines.filter((l) => l.ok === false);
    expect(failed.map((l) => l.case).sort()).toEqual(Object.keys(corrupt).sort());
    const by = Object.fromEntries(lines.map((l) => [l.case, l]));
    expect(by.layernorm.error).toMatch(/Error/);
    expect(by.rope.error).toBe('rope.out: shape [2, 3, 9, 12] vs expected [2, 3]');
    expect(by.sdpa.error).toBe('the file lacks sdpa.v');
    expect(by['act.silu'].maxAbsErr).toBeCloseTo(0.5, 5);
    expect(summary).toEqual({ passed: GOLDEN_ROWS.length - 4, failed: 4, skipped: 0 });
  });

  const dir = mkdtempSync(join(tmpdir(), 'segllm-golden-ops-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('golden:ops prints every case, the failures with their reason, and exits 1', async () => {
    const { tensors, metadata } = deserializeSafetensors(readFileSync(VARIANT));
    tensors['layernorm.weight'] = { dtype: 'float32', shape: [3], data: new Float32Array(3) };
    delete tensors['sdpa.v'];
    const file = join(dir, 'corrupted.safetensors');
    writeFileSync(file, serializeSafetensors(tensors, metadata));
    const pkg = fileURLToPath(new URL('..', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const r = await promisify(execFile)(tsx, ['--conditions=@segllm/source', 'scripts/golden-ops.ts', file], { cwd: pkg }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, -1).map((l) => l.case)).toEqual(GOLDEN_ROWS.map((row) => row.case));
    expect(lines.filter((l) => l.ok === false).map((l) => [l.case, typeof l.error])).toEqual([['layernorm', 'string'], ['sdpa', 'string']]);
    expect(lines.at(-1)).toEqual({ summary: true, backend: 'cpu', passed: GOLDEN_ROWS.length - 2, failed: 2, skipped: 0 });
  });
});
