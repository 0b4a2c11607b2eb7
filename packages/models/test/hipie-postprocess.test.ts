/**
 * HIPIE post-processing against a brute-force reference (drop background queries, phrase means, sqrt(sigmoid x
 * sigmoid) scores, class-aware greedy NMS at 0.7, top-k over (query, class) pairs, best target-class detection, x4
 * bilinear masks > 0.5), and the mapping back to the original image.
 */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import { manualSeed, rand, randn, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { boxToOriginal, maskToOriginal, parseHipieConfig, postprocess } from '../src/index.ts';
import type { HipieOutputs } from '../src/index.ts';

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const iou = (a: number[], b: number[]) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
};

describe.each(await availableBackends())('HIPIE post-processing on %s', (backend) => {
  it('matches the brute-force pipeline on clustered boxes', async () => {
    const c = parseHipieConfig({ hidden_dim: 32, nheads: 2, num_queries: 30, num_bg_queries: 3 });
    const [B, Qf, T, H, W] = [3, 30, 8, 32, 32];
    manualSeed(11);
    const logits = randn([1, B + Qf, T], { backend }).mul(2);
    const iouT = randn([1, B + Qf, 1], { backend });
    // 6 cluster centres, 5 jittered boxes each: plenty of overlaps above and below 0.7
    const bx: number[] = [];
    const jit = await rand([B + Qf, 4]).data();
    for (let q = 0; q < B + Qf; q++) {
      const k = q % 6;
      bx.push(0.15 + 0.14 * k + 0.02 * jit[4 * q], 0.3 + 0.05 * k + 0.02 * jit[4 * q + 1], 0.2 + 0.1 * jit[4 * q + 2], 0.2 + 0.1 * jit[4 * q + 3]);
    }
    const boxes = tensor(bx, { shape: [1, B + Qf, 4], backend });
    const masks = randn([1, B + Qf, 1, H / 4, W / 4], { backend });
    const out = { logits, iou: iouT, boxes, masks, imageSize: [H, W] } as unknown as HipieOutputs;
    const res = await postprocess(out, c, { allMasks: true });

    // brute force
    const L = await logits.data();
    const I = await iouT.data();
    const prob: number[][] = [];
    const xyxy: number[][] = [];
    for (let q = 0; q < Qf; q++) {
      const row = Array.from(L.slice((B + q) * T, (B + q + 1) * T));
      const m1 = row.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
      const m2 = row.slice(4).reduce((a, b) => a + b, 0) / 4;
      const si = sig(I[B + q]);
      prob.push([Math.sqrt(sig(m1) * si), Math.sqrt(sig(m2) * si)]);
      const [cx, cy, w, h] = bx.slice((B + q) * 4, (B + q) * 4 + 4);
      xyxy.push([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]);
    }
    const score = prob.map((p) => Math.max(...p));
    const label = prob.map((p) => (p[1] > p[0] ? 1 : 0));
    const order = [...score.keys()].sort((a, b) => score[b] - score[a]);
    const kept: number[] = [];
    for (const q of order) if (!kept.some((k) => label[k] === label[q] && iou(xyxy[k], xyxy[q]) > 0.7)) kept.push(q);
    expect(kept.length).toBeLessThan(Qf); // NMS removed something
    expect(kept.length).toBeGreaterThan(6);
    const pairs = kept.flatMap((q, i) => [0, 1].map((l) => ({ i: 2 * i + l, q, l, s: prob[q][l] }))).sort((a, b) => b.s - a.s || a.i - b.i);
    const want = pairs.slice(0, Math.min(100, 2 * kept.length));
    expect(res.detections.map((d) => [d.query, d.label])).toEqual(want.map((p) => [p.q, p.l]));
    res.detections.forEach((d, i) => {
      expect(d.score).toBeCloseTo(want[i].s, 5);
      xyxy[d.query].forEach((v, k) => expect(d.box[k]).toBeCloseTo(v * 32, 3));
    });
    const bestWant = want.reduce((bi, p, i) => ((p.l === 0 ? -1 : p.s) > (want[bi].l === 0 ? -1 : want[bi].s) ? i : bi), 0);
    expect(res.best).toBe(bestWant);
    expect(res.detections[res.best].label).toBe(1);
    // the answer's mask: bilinear x4 (align_corners=False) of its logits, > 0 (sigmoid > 0.5)
    const M = await masks.data();
    const q = res.detections[res.best].query;
    const at = (y: number, x: number) => M[(B + q) * 64 + Math.min(Math.max(y, 0), 7) * 8 + Math.min(Math.max(x, 0), 7)];
    const mask: number[] = [];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const sy = Math.max((y + 0.5) / 4 - 0.5, 0);
        const sx = Math.max((x + 0.5) / 4 - 0.5, 0);
        const [y0, x0] = [Math.floor(sy), Math.floor(sx)];
        const [ty, tx] = [sy - y0, sx - x0];
        const v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1)) + ty * ((1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1));
        mask.push(v > 0 ? 1 : 0);
      }
    }
    const got = Array.from(res.mask);
    expect(got.filter((v, i) => v !== mask[i]).length).toBeLessThanOrEqual(2); // values within float rounding of 0
    expect(res.masks).toHaveLength(res.detections.length);
    expect(res.masks![res.best]).toEqual(res.mask);
    for (const t of [logits, iouT, boxes, masks] as Tensor[]) t.dispose();
  });
});

describe('mapping back to the original image', () => {
  it('crops the padded frame to the resized size, then nearest-resizes to the original', () => {
    // padded 4x4 frame, resized image 2x4 (rows 0-1), original 4x8
    const m = Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0, 9, 9, 9, 9, 9, 9, 9, 9]);
    const o = maskToOriginal(m, [4, 4], [2, 4], [4, 8]);
    expect(Array.from(o)).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
  });
  it('scales boxes by original / resized and clips', () => {
    expect(boxToOriginal([10, 20, 1000, 700], [768, 1024], [480, 640])).toEqual([6.25, 12.5, 625, 437.5]);
    expect(boxToOriginal([-5, 0, 1030, 800], [768, 1024], [480, 640])).toEqual([0, 0, 640, 480]);
  });
});
