/**
 * The HIPIE training forward (src/hipie/train.ts, dn.ts) in the tiny random config at 64x64 (85 encoder tokens):
 * output shapes for a batch of 2 with different GT counts, the DN attention mask and noise against hand-derived
 * expectations from prepare_for_cdn, batch 2 = two batch-1 runs, agreement with the inference decode
 * (gradients and the other backends: hipie-train-grad.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareArrays } from '@segllm/tensor/testing';
import { Generator, liveTensorCount, manualSeed, noGrad, randn } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import {
  HipieDnError, HipieModel, dnAttentionMask, dnLayout, dnMatches, dnNoisedBoxes, disposeHipieOutputs, disposeImageFeatures, disposeTrainOutputs,
  maskLogits,
} from '../src/index.ts';
import type { HipieTrainOutputs, ImageFeatures } from '../src/index.ts';
import { tinyRandomConfig } from './hipie-fixtures.ts';

const config = tinyRandomConfig();
const S = 64;
const K = config.num_queries;
const B = config.num_bg_queries;
/** GT boxes (cxcywh) of image 0 (2 targets) and image 1 (1 target). */
const GT = [[0.3, 0.4, 0.2, 0.3, 0.6, 0.6, 0.4, 0.5], [0.5, 0.5, 0.3, 0.3]];

let model: HipieModel;
let images: Tensor;
let tokens: Tensor;

beforeAll(() => {
  manualSeed(11);
  model = new HipieModel(config).eval();
  images = randn([2, 3, S, S]);
  tokens = randn([2, 8, config.lang_dim]);
});
afterAll(() => {
  model.dispose();
  images.dispose();
  tokens.dispose();
});

function trainRun(m: HipieModel, img: Tensor, tok: Tensor, dn: boolean, seed = 5): { f: ImageFeatures; out: HipieTrainOutputs } {
  const f = m.encodeImage(img);
  const out = m.forwardTrain(f, tok, dn ? { boxes: GT, rng: new Generator(seed) } : null);
  return { f, out };
}

describe('DN queries (prepare_for_cdn)', () => {
  it('lays out one group of 2 maxT slots and the fixed gt matches', () => {
    const l = dnLayout([2, 1]);
    expect(l).toEqual({ maxT: 2, groups: 1, groupSize: 4, slots: 4, counts: [2, 1] });
    expect(dnMatches(l)).toEqual([{ query: [0, 1], target: [0, 1] }, { query: [0], target: [0] }]);
    expect(() => dnLayout([0, 0])).toThrow(HipieDnError);
  });

  it('builds the attention mask as upstream (one group, and two groups)', () => {
    // One group of 4 slots + 3 matching queries: matching rows may not see the 4 DN columns; nothing else is masked.
    const one = Array.from(dnAttentionMask({ groups: 1, groupSize: 4 }, 3).dataSync());
    const x = 1;
    const o = 0;
    expect(one).toEqual([
      o, o, o, o, o, o, o,
      o, o, o, o, o, o, o,
      o, o, o, o, o, o, o,
      o, o, o, o, o, o, o,
      x, x, x, x, o, o, o,
      x, x, x, x, o, o, o,
      x, x, x, x, o, o, o,
    ]);
    // Two groups of 2 slots + 2 matching queries: each group sees itself and the matching queries only.
    const two = Array.from(dnAttentionMask({ groups: 2, groupSize: 2 }, 2).dataSync());
    expect(two).toEqual([
      o, o, x, x, o, o,
      o, o, x, x, o, o,
      x, x, o, o, o, o,
      x, x, o, o, o, o,
      x, x, x, x, o, o,
      x, x, x, x, o, o,
    ]);
  });

  it('noises positives within half the box size and negatives between one and two halves', () => {
    const l = dnLayout([2, 1]);
    const n = dnNoisedBoxes(GT, l, new Generator(3));
    expect(Array.from(n.present)).toEqual([1, 1, 1, 1, 1, 0, 1, 0]);
    const xyxy = (b: ArrayLike<number>, i: number) => [b[4 * i] - b[4 * i + 2] / 2, b[4 * i + 1] - b[4 * i + 3] / 2, b[4 * i] + b[4 * i + 2] / 2, b[4 * i + 1] + b[4 * i + 3] / 2];
    for (const [b, t] of [[0, 0], [0, 1], [1, 0]]) {
      const g = xyxy(GT[b], t);
      const half = [GT[b][4 * t + 2] / 2, GT[b][4 * t + 3] / 2, GT[b][4 * t + 2] / 2, GT[b][4 * t + 3] / 2];
      const pos = xyxy(n.boxes, b * 4 + t);
      const neg = xyxy(n.boxes, b * 4 + 2 + t);
      for (let k = 0; k < 4; k++) {
        const dp = Math.abs(pos[k] - g[k]) / half[k];
        const dn = Math.abs(neg[k] - g[k]) / half[k];
        expect(dp).toBeLessThanOrEqual(1 + 1e-9);
        // A negative coordinate moves by 1-2 halves unless the [0, 1] clamp stopped it.
        const clamped = neg[k] <= 1e-12 || neg[k] >= 1 - 1e-12;
        if (!clamped) expect(dn).toBeGreaterThanOrEqual(1 - 1e-9);
        expect(dn).toBeLessThanOrEqual(2 + 1e-9);
      }
    }
  });
});

describe('HIPIE training forward (tiny random config, N = 2)', () => {
  it('returns every output with its shape, for both branches and every layer', () => {
    const { f, out } = trainRun(model, images, tokens, true);
    const P = model.controller.layers[2].weight.shape[0];
    expect(out.fg).toHaveLength(config.dec_layers);
    expect(out.gt).toHaveLength(config.dec_layers);
    for (const l of out.fg) {
      expect([l.logits.shape, l.boxes.shape, l.iou!.shape, l.maskParams.shape, l.maskRef.shape]).toEqual([[2, K, 8], [2, K, 4], [2, K, 1], [2, K, P], [2, K, 2]]);
    }
    for (const l of out.gt!) {
      expect([l.logits.shape, l.boxes.shape, l.iou, l.maskParams.shape, l.maskRef.shape]).toEqual([[2, 4, 8], [2, 4, 4], null, [2, 4, P], [2, 4, 2]]);
    }
    expect(out.dn!.matches).toEqual([{ query: [0, 1], target: [0, 1] }, { query: [0], target: [0] }]);
    expect(out.enc.logits.shape).toEqual([2, 85, 1]);
    expect(out.enc.boxes.shape).toEqual([2, 85, 4]);
    expect(out.maskFeats.shape).toEqual([2, 1, 8, 8]);
    const m = maskLogits(out, 'fg', 1, 1, [3, 0, 3]);
    expect(m.shape).toEqual([3, 16, 16]);
    const g = maskLogits(out, 'gt', 0, 0, out.dn!.matches[0].query);
    expect(g.shape).toEqual([2, 16, 16]);
    expect(maskLogits(out, 'fg', 0, 0, []).shape).toEqual([0, 16, 16]);
    expect(() => maskLogits(out, 'fg', 0, 2, [0])).toThrow(/image 2/);
    for (const t of [m, g]) t.dispose();
    disposeTrainOutputs(out);
    disposeImageFeatures(f);
  });

  it('gives a batch of 2 the results of two batch-1 runs (eval, DN off)', async () => {
    const both = noGrad(() => trainRun(model, images, tokens, false));
    for (let b = 0; b < 2; b++) {
      const one = noGrad(() => trainRun(model, images.narrow(0, b, 1).contiguous(), tokens.narrow(0, b, 1).contiguous(), false));
      for (let l = 0; l < config.dec_layers; l++) {
        for (const k of ['logits', 'boxes', 'iou', 'maskParams', 'maskRef'] as const) {
          const r = compareArrays(await one.out.fg[l][k]!.data(), await both.out.fg[l][k]!.narrow(0, b, 1).contiguous().data(), { rtol: 1e-5, atol: 1e-5 });
          expect(r.ok, `layer ${l} ${k} image ${b}: ${JSON.stringify(r)}`).toBe(true);
        }
      }
      const qs = [0, 5, 19];
      const m1 = noGrad(() => maskLogits(one.out, 'fg', 1, 0, qs));
      const m2 = noGrad(() => maskLogits(both.out, 'fg', 1, b, qs));
      expect(compareArrays(await m1.data(), await m2.data(), { rtol: 1e-5, atol: 1e-5 }).ok).toBe(true);
      for (const t of [m1, m2]) t.dispose();
      disposeTrainOutputs(one.out);
      disposeImageFeatures(one.f);
    }
    disposeTrainOutputs(both.out);
    disposeImageFeatures(both.f);
  });

  it('matches the inference decode on the last layer (eval, DN off, same weights)', async () => {
    const img = images.narrow(0, 0, 1).contiguous();
    const tok = tokens.narrow(0, 0, 1).contiguous();
    const { f, out } = noGrad(() => trainRun(model, img, tok, false));
    const ref = noGrad(() => model.decode(f, tok));
    const L = out.fg[config.dec_layers - 1];
    const fgOf = (t: Tensor) => t.narrow(1, B, K).contiguous();
    const masks = noGrad(() => maskLogits(out, 'fg', config.dec_layers - 1, 0, Array.from({ length: K }, (_, i) => i)));
    const pairs: [Tensor, Tensor][] = [[L.logits, fgOf(ref.logits)], [L.boxes, fgOf(ref.boxes)], [L.iou!, fgOf(ref.iou)], [L.maskRef, fgOf(ref.maskRefPx)], [masks, fgOf(ref.masks)]];
    for (const [a, e] of pairs) {
      const r = compareArrays(await a.data(), await e.data(), { rtol: 1e-5, atol: 1e-5 });
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
    const encR = compareArrays(await out.enc.logits.data(), await ref.encClass.data(), { rtol: 0, atol: 0 });
    expect(encR.ok).toBe(true);
    masks.dispose();
    disposeHipieOutputs(ref);
    disposeTrainOutputs(out);
    disposeImageFeatures(f);
  });

  it('leaves no tensor behind after forward, maskLogits and dispose (DN on, gradients off)', () => {
    const run = () =>
      noGrad(() => {
        const { f, out } = trainRun(model, images, tokens, true);
        const m = maskLogits(out, 'fg', 1, 0, [1, 2]);
        const g = maskLogits(out, 'gt', 0, 1, [0]);
        for (const t of [m, g]) t.dispose();
        disposeTrainOutputs(out);
        disposeImageFeatures(f);
      });
    run(); // warm caches once
    const before = liveTensorCount();
    run();
    expect(liveTensorCount()).toBe(before);
  });
});
