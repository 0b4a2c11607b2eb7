/** The training loop: the loss falls, checkpoints resume bit for bit, a kill never breaks latest.json, freezing follows the recipe. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSegLLM } from '@segllm/core';
import { Trainer, applyFreeze, latestCheckpoint } from '@segllm/core/train';
import { readTrainConfig, prepareTrainRun } from '@segllm/core/train';
import { writeShapesDataset } from '@segllm/mrseg';
import { writeFileSync } from 'node:fs';
import type { SegLLM } from '@segllm/core';
import type { StepSample } from '@segllm/core/train';
import { R, SyntheticSource, configJson, newModel, tokJson, trainOptions as opts } from './train-helpers.ts';

async function weights(m: SegLLM): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of m.model.stateDict()) out.set(k, (await t.data()) as Float32Array);
  return out;
}

describe('SegLLM trainer', () => {
  it('the official recipe freezes CLIP, the embeddings, lm_head and the ResNet stem + res2; "all" trains everything', () => {
    const m = newModel();
    const names = [...applyFreeze(m.model, 'official').values()];
    expect(names.some((n) => n.startsWith('model.vision_tower.'))).toBe(false);
    expect(names).not.toContain('model.embed_tokens.weight');
    expect(names).not.toContain('lm_head.weight');
    expect(names.some((n) => /backbone\.0\.backbone\.(stem|res2)\./.test(n))).toBe(false);
    expect(names.some((n) => /backbone\.0\.backbone\.res3\./.test(n))).toBe(true);
    expect(names).toContain('model.layers.0.self_attn.q_proj.weight');
    expect(names).toContain('model.mm_projector.0.weight');
    expect(names).toContain('model.mask_enc_head.weight');
    const all = applyFreeze(m.model, 'all');
    expect(all.size).toBe([...m.model.namedParameters()].length);
    m.model.dispose();
  });

  it('resumes bit for bit: 4 steps straight equal 2 steps, a fresh process-like restart from the checkpoint, and 2 more', async () => {
    const root = mkdtempSync(join(tmpdir(), 'segllm-train-'));
    const a = newModel();
    const ta = new Trainer(a, new SyntheticSource(1), { configJson, tokenizerJson: tokJson }, opts(join(root, 'a'), 4));
    const ha = await ta.run();
    expect(ha.log.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(ha.log[3].loss).toBeLessThan(ha.log[0].loss);

    const b = newModel();
    const tb = new Trainer(b, new SyntheticSource(1), { configJson, tokenizerJson: tokJson }, { ...opts(join(root, 'b'), 4), steps: 4 });
    await tb.run({}, 2); // saves at step 2 (saveEvery 2)
    tb.dispose();
    b.model.dispose();

    const c = newModel(); // different init would be overwritten by the checkpoint anyway
    const tc = new Trainer(c, new SyntheticSource(999), { configJson, tokenizerJson: tokJson }, opts(join(root, 'b'), 4));
    expect(await tc.resume()).toBe(2);
    await tc.run();
    const [wa, wc] = [await weights(a), await weights(c)];
    for (const [k, v] of wa) expect(Array.from(wc.get(k)!), k).toEqual(Array.from(v));
    expect(tc.history.log.map((r) => r.loss)).toEqual(ha.log.map((r) => r.loss));

    // The checkpoint folder loads as a model; only the newest `keep` checkpoints remain; the loss curve is there.
    const latest = await latestCheckpoint(join(root, 'b'));
    expect(latest).toBe(join(root, 'b', 'step-0000004'));
    const { model: loaded } = await loadSegLLM(latest!, { dtype: 'float32' });
    const wl = await weights(loaded);
    for (const [k, v] of wa) expect(Array.from(wl.get(k)!), k).toEqual(Array.from(v));
    expect(readdirSync(join(root, 'b')).sort()).toEqual(['latest.json', 'loss.svg', 'step-0000002', 'step-0000004']);
    expect(readFileSync(join(root, 'b', 'loss.svg'), 'utf8')).toContain('<polyline');
    for (const m of [a, c, loaded]) m.model.dispose();
    ta.dispose();
    tc.dispose();
  }, 120_000);

  it('trains on MRSeg-Shapes conversations with the HIPIE loss (DN, aux, enc, points) and resumes bit for bit from a config file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'segllm-train-shapes-'));
    await writeShapesDataset({ out: join(root, 'data'), n: 4, seed: 3, valCount: 0 });
    const hipie = { hidden_dim: 32, nheads: 2, enc_layers: 1, dec_layers: 2, dim_feedforward: 32, num_queries: 8, num_bg_queries: 2, vl_hidden_dim: 16, vl_heads: 2, lang_dim: 16, norm_groups: 4, dn_resizer: true, backbone: { stem_out_channels: 8, depths: [1, 1, 1, 1], widths: [4, 4, 8, 8] } };
    const cfg = {
      model: { config: { ...configJson, segllm_hipie_image_size: 64, hipie_config: hipie, vocab_size: 32011 } },
      data: { images: 'data/images', annotations: ['data/annotations/shapes_train.json'], train: ['data/conversations/train/positional.json', 'data/conversations/train/hard.json'] },
      steps: 4, batch: 2, lr: 1e-3, warmupRatio: 0, clip: 1, freeze: { vision: false, embeddings: true, lmHead: true, backboneStem: false }, numPoints: 32, saveEvery: 2, logEvery: 1, backend: 'cpu',
    };
    writeFileSync(join(root, 'a.json'), JSON.stringify({ ...cfg, out: 'run-a' }));
    writeFileSync(join(root, 'b.json'), JSON.stringify({ ...cfg, out: 'run-b' }));
    const a = await prepareTrainRun(await readTrainConfig(join(root, 'a.json')));
    const ha = await a.trainer.run();
    expect(ha.log.every((r) => r.seg !== null && Number.isFinite(r.seg) && r.seg > 0)).toBe(true);
    const keys = Object.keys(ha.log[0].terms);
    for (const k of ['loss_ce', 'loss_bbox', 'loss_giou', 'loss_boxiou', 'loss_mask', 'loss_dice', 'loss_ce_0', 'loss_ce_enc', 'loss_bbox_enc']) expect(keys).toContain(k);

    const b1 = await prepareTrainRun(await readTrainConfig(join(root, 'b.json')));
    await b1.trainer.run({}, 2);
    b1.trainer.dispose();
    b1.model.model.dispose();
    const b2 = await prepareTrainRun(await readTrainConfig(join(root, 'b.json')), { resume: true });
    expect(b2.resumedFrom).toBe(2);
    await b2.trainer.run();
    const [wa, wb] = [await weights(a.model), await weights(b2.model)];
    for (const [k, v] of wa) expect(Array.from(wb.get(k)!), k).toEqual(Array.from(v));
    expect(b2.trainer.history.log.map((r) => [r.loss, r.seg])).toEqual(ha.log.map((r) => [r.loss, r.seg]));
    for (const r of [a, b2]) {
      r.trainer.dispose();
      r.model.model.dispose();
    }
  }, 300_000);

  it('the Table 8 ablations: no mask encoding zeroes it in training samples and at inference; the checkpoint config carries it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'segllm-ablation-'));
    await writeShapesDataset({ out: join(root, 'data'), n: 3, seed: 5, valCount: 0 });
    const cfg = {
      model: { config: { ...configJson, segllm_hipie_image_size: 64 } },
      data: { images: 'data/images', annotations: ['data/annotations/shapes_train.json'], train: ['data/conversations/train/positional.json'], keepEncoding: 1 },
      steps: 1, batch: 2, freeze: 'all', numPoints: 16, backend: 'cpu', out: 'run', ablation: { maskEncoding: false },
    };
    writeFileSync(join(root, 'c.json'), JSON.stringify(cfg));
    const run = await prepareTrainRun(await readTrainConfig(join(root, 'c.json')));
    const net = run.model.model;
    expect(net.config.mask_encoding).toBe(false);
    expect(net.config.box_encoding).toBe(true);
    const s = await run.dataset.sample(0, 0, 1);
    expect(s.maskSlots.length).toBeGreaterThan(0);
    expect(s.maskSlots.every((m) => m.pixels === null)).toBe(true); // keepEncoding 1, but the model has no mask encoding
    expect(s.boxSlots.every((m) => m.box !== null)).toBe(true);
    const px = new Float32Array(3 * R * R).fill(0.3);
    const { fromStorageArray } = await import('@segllm/tensor');
    const enc = net.encodeMask(fromStorageArray(px, [1, 3, R, R], 'float32'));
    expect(Array.from(await enc.data()).every((v) => v === 0)).toBe(true);
    enc.dispose();
    run.trainer.dispose();
    net.dispose();
  }, 120_000);

  it('gradient accumulation scales each batch by 1/accumulate: two copies of a batch accumulated equal one update on it', async () => {
    /** Serves the same batch `repeat` times in a row, then the next one. */
    class Repeating extends SyntheticSource {
      last: StepSample[] = [];
      served = 0;
      constructor(readonly repeat: number) {
        super(4);
      }
      override async next(): Promise<StepSample[]> {
        if (this.served++ % this.repeat === 0) this.last = await super.next();
        return this.last;
      }
    }
    const root = mkdtempSync(join(tmpdir(), 'segllm-accum-'));
    const a = newModel();
    // clip 1e9 never clips but reports the global gradient norm (Adam alone would hide a wrong scale).
    const ta = new Trainer(a, new Repeating(1), { configJson, tokenizerJson: tokJson }, { ...opts(join(root, 'a'), 2), warmupRatio: 0, clip: 1e9, saveEvery: 100 });
    const b = newModel();
    const tb = new Trainer(b, new Repeating(2), { configJson, tokenizerJson: tokJson }, { ...opts(join(root, 'b'), 2), warmupRatio: 0, clip: 1e9, saveEvery: 100, accumulate: 2 });
    for (let i = 0; i < 2; i++) {
      const [ra, rb] = [await ta.trainStep(), await tb.trainStep()];
      expect(rb.loss).toBeCloseTo(ra.loss, 5);
      expect(rb.gradNorm! / ra.gradNorm!).toBeCloseTo(1, 5);
    }
    const [wa, wb] = [await weights(a), await weights(b)];
    let worst = 0;
    for (const [k, v] of wa) {
      const u = wb.get(k)!;
      for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - u[i]));
    }
    expect(worst).toBeLessThan(1e-5); // (g/2 + g/2) vs g: equal up to float32 rounding
    const moved = [...wa].some(([k, v]) => v.some((x, i) => x !== newModelWeights.get(k)![i]));
    expect(moved).toBe(true);
    for (const m of [a, b]) m.model.dispose();
    ta.dispose();
    tb.dispose();
  }, 120_000);
});

const initial = newModel();
const newModelWeights = await weights(initial);
initial.model.dispose();
