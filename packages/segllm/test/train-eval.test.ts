/** Evaluation during training: the config's `eval` block scores validation conversations into the history and trainer.json. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeShapesDataset } from '@segllm/mrseg';
import { latestCheckpoint, prepareTrainRun, readTrainConfig, trainEvalHooks } from '@segllm/core/train';
import { configJson } from './train-helpers.ts';

describe('evaluation during training', () => {
  it('every eval.every steps and at the end: mIoU, cIoU, P@0.5 per validation file, finite and in [0, 1], in trainer.json', async () => {
    const root = mkdtempSync(join(tmpdir(), 'segllm-train-eval-'));
    await writeShapesDataset({ out: join(root, 'data'), n: 2, seed: 5, valCount: 2 });
    const hipie = { hidden_dim: 32, nheads: 2, enc_layers: 1, dec_layers: 2, dim_feedforward: 32, num_queries: 8, num_bg_queries: 2, vl_hidden_dim: 16, vl_heads: 2, lang_dim: 16, norm_groups: 4, dn_resizer: true, backbone: { stem_out_channels: 8, depths: [1, 1, 1, 1], widths: [4, 4, 8, 8] } };
    writeFileSync(join(root, 'train.json'), JSON.stringify({
      model: { config: { ...configJson, segllm_hipie_image_size: 64, hipie_config: hipie, vocab_size: 32011 } },
      data: { images: 'data/images', annotations: ['data/annotations/shapes_train.json'], train: ['data/conversations/train/positional.json'] },
      steps: 3, batch: 2, lr: 1e-3, warmupRatio: 0, freeze: 'all', numPoints: 16, saveEvery: 3, logEvery: 1, backend: 'cpu', out: 'run',
      eval: { every: 2, conversations: ['data/conversations/val/positional.json', 'data/conversations/val/hard.json'], annotations: 'data/annotations/shapes_val.json', images: 'data/images', limit: 2 },
    }));
    const run = await prepareTrainRun(await readTrainConfig(join(root, 'train.json')));
    const seen: number[] = [];
    const hooks = await trainEvalHooks(run, (step) => seen.push(step));
    expect(hooks.evalEvery).toBe(2);
    const history = await run.trainer.run(hooks);
    expect(seen).toEqual([2, 3]);
    expect(history.eval.map((e) => e.step)).toEqual([2, 3]);
    for (const { metrics } of history.eval) {
      for (const file of ['positional', 'hard']) {
        for (const m of ['mIoU', 'cIoU', 'P@0.5']) {
          const v = metrics[`${file}/${m}`];
          expect(Number.isFinite(v) && v >= 0 && v <= 1, `${file}/${m} = ${v}`).toBe(true);
        }
        expect(metrics[`${file}/n`]).toBeGreaterThanOrEqual(2); // 2 conversations of at least one round each
      }
    }
    // The model trains again after evaluating (training mode restored), and the history is in the checkpoint.
    expect([...run.model.model.namedModules()].every(([, m]) => m.training)).toBe(true);
    const state = JSON.parse(readFileSync(join((await latestCheckpoint(join(root, 'run')))!, 'trainer.json'), 'utf8')) as { history: { eval: unknown[] } };
    expect(state.history.eval).toEqual(JSON.parse(JSON.stringify(history.eval)));
    run.trainer.dispose();
    run.model.model.dispose();
  }, 600_000);
});
