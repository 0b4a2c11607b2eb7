import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bboxToRle, rleEmpty, rleToCoco, type RleMask } from '@segllm/mrseg';
import { computeMetricsFromFiles, dataMetricsCommand } from '../src/commands/data-metrics.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(join(tmpdir(), 'segllm-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const m = (b: number[]): RleMask => bboxToRle(b, 6, 6);
const rec = (conv_id: string, round: number, mask: RleMask, box?: number[]): object => ({ conv_id, round, mask: rleToCoco(mask), ...(box ? { box } : {}) });
const write = (name: string, v: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
  return p;
};

// Hand-computed on 6x6 masks:
//   (x, 1): gt 3x3 at (0,0) = 9 px; pred 3x3 at (1,1), box [1,1,4,4]: I 4, U 14; box IoU vs [0,0,3,3] = 4/14
//   (x, 2): gt the full 36 px; pred the top 18 px, box [0,0,6,4]: I 18, U 36; box IoU 24/36 > 0.5
//   (y, 1): gt 2x2 = 4 px; no prediction: I 0, U 4
const gtPath = write('gt.json', [rec('x', 1, m([0, 0, 3, 3])), rec('x', 2, m([0, 0, 6, 6]), [0, 0, 6, 6]), rec('y', 1, m([2, 2, 2, 2]))]);
const predPath = write('pred.json', [rec('x', 1, m([1, 1, 3, 3]), [1, 1, 4, 4]), rec('x', 2, m([0, 0, 6, 3]), [0, 0, 6, 4])]);
const e = 1e-4;
const expected = {
  rounds: {
    '1': { cIoU: 4 / 18, mIoU: (4 / (14 + e) + 0) / 2, 'P@0.5': 0, n: 2 },
    '2': { cIoU: 18 / 36, mIoU: 18 / (36 + e), 'P@0.5': 1, n: 1 },
  },
  overall: { cIoU: 22 / 54, mIoU: (4 / (14 + e) + 18 / (36 + e)) / 3, 'P@0.5': 1 / 3, n: 3 },
};

function expectMetrics(got: typeof expected): void {
  expect(Object.keys(got.rounds)).toEqual(['1', '2']);
  for (const k of ['1', '2'] as const) {
    for (const f of ['cIoU', 'mIoU', 'P@0.5', 'n'] as const) expect(got.rounds[k][f]).toBeCloseTo(expected.rounds[k][f], 12);
  }
  for (const f of ['cIoU', 'mIoU', 'P@0.5', 'n'] as const) expect(got.overall[f]).toBeCloseTo(expected.overall[f], 12);
}

describe('segllm data metrics', () => {
  it('computes the hand-computed values (function)', async () => {
    expectMetrics((await computeMetricsFromFiles(gtPath, predPath)) as typeof expected);
  });

  it('end to end: spawns the CLI with tsx and prints one JSON object', async () => {
    const tsx = join(root, 'node_modules/.bin/tsx');
    const { stdout } = await promisify(execFile)(
      tsx,
      ['--conditions=@segllm/source', join(root, 'packages/cli/src/main.ts'), 'data', 'metrics', '--gt', gtPath, '--pred', predPath],
      { cwd: root },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectMetrics(JSON.parse(lines[0]) as typeof expected);
  });

  it('exit codes: 2 for usage errors, 1 for bad input, 0 for --help', async () => {
    const run = async (...args: string[]): Promise<{ code: number; err: string; out: string }> => {
      let err = '';
      let out = '';
      const we = process.stderr.write.bind(process.stderr);
      const wo = process.stdout.write.bind(process.stdout);
      process.stderr.write = ((s: string) => ((err += s), true));
      process.stdout.write = ((s: string) => ((out += s), true));
      try {
        return { code: await dataMetricsCommand.run(args), err, out };
      } finally {
        process.stderr.write = we;
        process.stdout.write = wo;
      }
    };
    expect((await run('--gt', gtPath)).code).toBe(2);
    expect((await run('--gt', gtPath, '--pred', predPath, '--frame', 'weird')).code).toBe(2);
    expect((await run('--bogus')).code).toBe(2);
    expect((await run('--help')).code).toBe(0);
    const ok = await run('--gt', gtPath, '--pred', predPath);
    expect(ok.code).toBe(0);
    expectMetrics(JSON.parse(ok.out) as typeof expected);
    const dup = write('dup.json', [rec('x', 1, rleEmpty(6, 6), [0, 0, 1, 1]), rec('x', 1, rleEmpty(6, 6), [0, 0, 1, 1])]);
    const r1 = await run('--gt', gtPath, '--pred', dup);
    expect(r1).toMatchObject({ code: 1 });
    expect(r1.err).toMatch(/pred\[1\]: duplicate key \(conv_id "x", round 1\)/);
    const unknown = write('unknown.json', [rec('z', 1, rleEmpty(6, 6), [0, 0, 1, 1])]);
    expect((await run('--gt', gtPath, '--pred', unknown)).err).toMatch(/unknown key \(conv_id "z", round 1\)/);
    const broken = write('broken.json', '[{');
    expect((await run('--gt', broken, '--pred', predPath)).err).toMatch(/gt: .* is not valid JSON/);
    expect((await run('--gt', join(dir, 'nope.json'), '--pred', predPath)).err).toMatch(/cannot read/);
  });
});
