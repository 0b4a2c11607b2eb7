/** `segllm train` with an eval block: one JSON line per evaluation with each validation file's metrics. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinySegLLMConfigJson } from '@segllm/core';
import { writeShapesDataset } from '@segllm/mrseg';
import { evalLine, runTrain } from '../src/commands/train.ts';
import { captureIo } from './helpers.ts';

describe('segllm train', () => {
  it('prints {"event": "eval"} lines with mIoU, cIoU and P@0.5 per validation file, and a terminal line for them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'segllm-cli-train-'));
    await writeShapesDataset({ out: join(root, 'data'), n: 1, seed: 2, valCount: 1 });
    const base = tinySegLLMConfigJson({ imageSize: 64, vocabSize: 32011 });
    writeFileSync(join(root, 'train.json'), JSON.stringify({
      model: { config: { ...base, vision_config: { ...(base.vision_config as object), image_size: 28 } } },
      data: { images: 'data/images', annotations: ['data/annotations/shapes_train.json'], train: ['data/conversations/train/positional.json'] },
      steps: 1, batch: 1, freeze: 'all', numPoints: 8, backend: 'cpu', out: 'run',
      eval: { every: 1, conversations: ['data/conversations/val/positional.json'], annotations: 'data/annotations/shapes_val.json', images: 'data/images', limit: 1 },
    }));
    const io = captureIo();
    expect(await runTrain(['--config', join(root, 'train.json')], io, false)).toBe(0);
    const events = io.stdout().trim().split('\n').map((l) => JSON.parse(l) as { event: string; step?: number; metrics?: Record<string, number> });
    const evals = events.filter((e) => e.event === 'eval');
    expect(evals.map((e) => e.step)).toEqual([1]);
    for (const k of ['positional/mIoU', 'positional/cIoU', 'positional/P@0.5']) {
      const v = evals[0].metrics![k];
      expect(Number.isFinite(v) && v >= 0 && v <= 1, `${k} = ${v}`).toBe(true);
    }
    expect(evalLine({ 'val/a/mIoU': 0.5, 'val/a/cIoU': 0.25, 'val/a/P@0.5': 1, 'val/a/n': 4, 'b/mIoU': 0 })).toBe('val/a mIoU 0.500 cIoU 0.250 P@0.5 1.000; b mIoU 0.000');
  }, 600_000);
});
