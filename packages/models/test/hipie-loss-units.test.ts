/**
 * The HIPIE loss beyond the goldens: finite-difference gradient checks in float64 (each term with the tensor library's
 * gradcheck; the whole criterion — two fg layers, DN gt branch, encoder, seg tokens, sampled points — by central
 * differences of the async loss) on other seeds and sizes (Q 6, S 32, 8 x 8 masks); linear_sum_assignment against
 * brute force and scipy's documented example; SegLLM targets; the point sampler's draw order; typed errors; leaks.
 */
import { describe, expect, it } from 'vitest';
import { Generator, fromStorageArray, liveTensorCount, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { gradcheck } from '@segllm/tensor/testing';
import {
  AssignmentError, HipieTargetError, giouLoss, hipieLoss, linearSumAssignment, lossBoxes, lossLabelsVL, lossMasks, segllmTarget, targetBoxes,
  uncertainPoints, type HipieLossInput, type HipieTarget, type Match,
} from '../src/index.ts';

const S = 32; // image side; masks at stride 4 are 8 x 8
const Q = 6;
const K = 8;

function rect(x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(S * S);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * S + x] = 1;
  return m;
}

/** Two images: [reference, target] and [target] only. */
function scene(): HipieTarget[] {
  return [segllmTarget(rect(10, 8, 20, 18), rect(4, 2, 26, 28), S), segllmTarget(rect(3, 12, 15, 30), null, S)];
}

/** Predictions for `targets`: per image, one query sits near each target's centre, the rest are random. */
function predictions(g: Generator, targets: HipieTarget[], n = Q): { logits: Float64Array; boxes: Float64Array; iou: Float64Array } {
  const B = targets.length;
  const logits = Float64Array.from({ length: B * n * K }, () => g.normal() * 1.5 - 1);
  const boxes = new Float64Array(B * n * 4);
  targets.forEach((t, b) => {
    const gt = targetBoxes(t);
    for (let q = 0; q < n; q++) {
      const j = q % (t.numInstances + 1);
      const o = (b * n + q) * 4;
      if (j < t.numInstances) for (let c = 0; c < 4; c++) boxes[o + c] = gt[4 * j + c] * (1 + 0.3 * (g.random() - 0.5));
      else boxes.set([0.1 + 0.8 * g.random(), 0.1 + 0.8 * g.random(), 0.05 + 0.3 * g.random(), 0.05 + 0.3 * g.random()], o);
    }
  });
  return { logits, boxes, iou: Float64Array.from({ length: B * n }, () => g.normal()) };
}

const f64 = (data: Float64Array, shape: number[], requiresGrad = false) => fromStorageArray(Float64Array.from(data), shape, 'float64', { requiresGrad });

describe('HIPIE loss terms: float64 gradcheck (tensor library)', () => {
  const targets = scene();
  const maps = targets.map((t) => t.positiveMap);
  const matches: Match[] = [{ query: [0, 1, 4], target: [0, 1, 1] }, { query: [2], target: [0] }];
  const g = new Generator(11);
  const p = predictions(g, targets);

  it('loss_labelsVL', () => {
    const r = gradcheck((lg) => lossLabelsVL(lg, matches, maps), [f64(p.logits, [2, Q, K])]);
    expect(r.ok, r.message).toBe(true);
  });
  it('loss_boxes: L1, GIoU and the IoU BCE', () => {
    const tb = targets.map(targetBoxes);
    // the IoU target is computed from the boxes without gradient (as upstream), so loss_boxiou is checked in the logits
    for (const [key, wrt] of [['loss_bbox', [0]], ['loss_giou', [0]], ['loss_boxiou', [1]]] as const) {
      const r = gradcheck((bx, io) => lossBoxes(bx, io, matches, tb).get(key)!, [f64(p.boxes, [2, Q, 4]), f64(p.iou, [2, Q, 1])], { wrt: [...wrt] });
      expect(r.ok, `${key}: ${r.message}`).toBe(true);
    }
  });
  it('fvcore giou_loss of paired boxes', () => {
    const a = f64(Float64Array.from([0.1, 0.2, 0.5, 0.6, 0.3, 0.3, 0.4, 0.9, 0, 0, 0.1, 0.1]), [3, 4]);
    const b = f64(Float64Array.from([0.2, 0.1, 0.6, 0.5, 0.35, 0.1, 0.8, 0.7, 0.5, 0.5, 0.7, 0.9]), [3, 4]);
    const r = gradcheck((x, y) => giouLoss(x, y), [a, b]);
    expect(r.ok, r.message).toBe(true);
  });
  it('loss_mask and loss_dice at points', () => {
    const M = 3;
    const masks = f64(Float64Array.from({ length: M * 64 }, () => g.normal() * 2), [M, 8, 8]);
    const tm = f64(Float64Array.from({ length: M * 64 }, () => (g.random() > 0.5 ? 1 : 0)), [M, 8, 8]);
    const pts = f64(Float64Array.from({ length: M * 10 * 2 }, () => 0.05 + 0.9 * g.random()), [M, 10, 2]);
    for (const key of ['loss_mask', 'loss_dice']) {
      // the point labels come from the same points without gradient (as upstream): checked in the mask logits
      const r = gradcheck((m, pp) => lossMasks(m, tm, pp).get(key)!, [masks, pts], { wrt: [0] });
      expect(r.ok, `${key}: ${r.message}`).toBe(true);
    }
  });
});

describe('HIPIE loss terms without matches', () => {
  it('are zeros that keep the graph (upstream sum() * 0): zero gradients, no loss_boxiou', async () => {
    const none: Match[] = [{ query: [], target: [] }];
    const lg = f64(Float64Array.from({ length: Q * K }, (_, i) => i / 10), [1, Q, K], true);
    const bx = f64(new Float64Array(Q * 4).fill(0.3), [1, Q, 4], true);
    const io = f64(new Float64Array(Q), [1, Q, 1], true);
    const ce = lossLabelsVL(lg, none, [[]]);
    const boxes = lossBoxes(bx, io, none, [new Float64Array(0)]);
    expect([...boxes.keys()]).toEqual(['loss_bbox', 'loss_giou']);
    const m = f64(new Float64Array(0), [0, 8, 8], true);
    const masks = lossMasks(m, f64(new Float64Array(0), [0, 8, 8]), f64(new Float64Array(0), [0, 4, 2]));
    const total = [ce, ...boxes.values(), ...masks.values()].reduce((a, b) => a.add(b));
    expect((await total.data())[0]).toBe(0);
    total.backward();
    expect(Array.from(await lg.grad!.data()).every((v) => v === 0)).toBe(true);
    expect(Array.from(await bx.grad!.data()).every((v) => v === 0)).toBe(true);
    for (const t of new Set([ce, total, lg, bx, io, m, ...boxes.values(), ...masks.values()])) {
      t.grad?.dispose();
      t.dispose();
    }
  });
});

interface DeepLeaves {
  fg: { logits: Float64Array; boxes: Float64Array; iou: Float64Array; masks: Float64Array }[];
  gt: { logits: Float64Array; boxes: Float64Array; masks: Float64Array }[];
  enc: { logits: Float64Array; boxes: Float64Array };
  seg: Float64Array;
}

/** A deep input: 2 fg layers with per-query mask logits [B, Q, 8, 8], a DN branch (maxT 2), 9 encoder proposals. */
function deepLeaves(seed: number): DeepLeaves {
  const g = new Generator(seed);
  const targets = scene();
  const randn = (n: number, s = 1) => Float64Array.from({ length: n }, () => g.normal() * s);
  const fg = [0, 1].map(() => ({ ...predictions(g, targets), masks: randn(2 * Q * 64, 2) }));
  const gt = [0, 1].map(() => {
    const p = predictions(g, targets, 4);
    return { logits: p.logits, boxes: p.boxes, masks: randn(2 * 4 * 64, 2) };
  });
  const e = predictions(g, targets, 9);
  return { fg, gt, enc: { logits: randn(2 * 9, 1.5), boxes: e.boxes }, seg: randn(2 * 8 * 4) };
}

/** Builds the loss input from flat arrays (as tensors with requiresGrad when asked). */
function deepInput(d: DeepLeaves, grad: boolean, seed: number): { input: HipieLossInput; leaves: Tensor[] } {
  const leaves: Tensor[] = [];
  const t = (a: Float64Array, shape: number[]) => {
    const x = f64(a, shape, grad);
    leaves.push(x);
    return x;
  };
  const maskFn = (m: Tensor) => (b: number, qs: readonly number[]) => tidy(() => m.select(0, b).indexSelect(0, fromStorageArray(Int32Array.from(qs), [qs.length], 'int32')));
  const fgL = d.fg.map((l) => ({ logits: t(l.logits, [2, Q, K]), boxes: t(l.boxes, [2, Q, 4]), iou: t(l.iou, [2, Q, 1]), m: t(l.masks, [2, Q, 8, 8]) }));
  const gtL = d.gt.map((l) => ({ logits: t(l.logits, [2, 4, K]), boxes: t(l.boxes, [2, 4, 4]), m: t(l.masks, [2, 4, 8, 8]) }));
  const enc = { logits: t(d.enc.logits, [2, 9, 1]), boxes: t(d.enc.boxes, [2, 9, 4]) };
  const segTokens = t(d.seg, [2, 8, 4]);
  const rng = new Generator(seed + 1);
  const input: HipieLossInput = {
    targets: scene(),
    fg: { layers: fgL.map((l) => ({ logits: l.logits, boxes: l.boxes, iou: l.iou })), masks: fgL.map((l) => maskFn(l.m)) },
    gt: { layers: gtL.map((l) => ({ logits: l.logits, boxes: l.boxes })), masks: gtL.map((l) => maskFn(l.m)), maxT: 2 },
    enc, segTokens, numPoints: 12, rng: () => rng.random(),
  };
  return { input, leaves };
}

/** The total, and the total less the IoU BCE terms (whose target depends on the boxes without gradient). */
async function lossAt(d: DeepLeaves, seed: number): Promise<[number, number]> {
  const { input, leaves } = deepInput(d, false, seed);
  const r = await hipieLoss(input);
  const total = (await r.total.data())[0];
  let boxiou = 0;
  for (const k of ['loss_boxiou', 'loss_boxiou_0']) boxiou += (await r.terms.get(k)!.data())[0];
  const v: [number, number] = [total, total - boxiou];
  for (const x of [r.total, ...r.terms.values(), ...r.raw.fg.values(), ...(r.raw.gt?.values() ?? []), ...leaves]) x.dispose();
  return v;
}

describe('HIPIE criterion: float64 central differences of the whole loss', () => {
  it.each([3, 8])('seed %i: aux + final fg layers, DN gt branch, encoder, seg tokens, sampled points', async (seed) => {
    const d = deepLeaves(seed);
    const { input, leaves } = deepInput(d, true, seed);
    const res = await hipieLoss(input);
    expect([...res.terms.keys()]).toEqual(expect.arrayContaining(['loss_ce', 'loss_ce_0', 'loss_mask_0', 'loss_boxiou_0', 'loss_ce_enc', 'loss_giou_enc', 'loss_class_dn_0']));
    expect(res.matches.fg).toHaveLength(2);
    res.total.backward();
    const analytic = await Promise.all(leaves.map(async (x) => Float64Array.from(await x.grad!.data())));
    const flat: Float64Array[] = [...d.fg.flatMap((l) => [l.logits, l.boxes, l.iou, l.masks]), ...d.gt.flatMap((l) => [l.logits, l.boxes, l.masks]), d.enc.logits, d.enc.boxes, d.seg];
    const g = new Generator(seed + 100);
    const eps = 1e-6;
    let checked = 0;
    for (let i = 0; i < flat.length; i++) {
      // every element of the smallest inputs, 12 random ones of the others (the machine is shared: keep it quick)
      const n = flat[i].length;
      const ks = n <= 18 ? Array.from({ length: n }, (_, k) => k) : Array.from({ length: 12 }, () => g.int(0, n));
      for (const k of ks) {
        const base = flat[i][k];
        flat[i][k] = base + eps;
        const up = await lossAt(d, seed);
        flat[i][k] = base - eps;
        const down = await lossAt(d, seed);
        flat[i][k] = base;
        const fgBoxes = flat[i] === d.fg[0].boxes || flat[i] === d.fg[1].boxes;
        const num = (up[fgBoxes ? 1 : 0] - down[fgBoxes ? 1 : 0]) / (2 * eps);
        expect(Math.abs(analytic[i][k] - num), `input ${i} element ${k}: analytic ${analytic[i][k]} vs numeric ${num}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(num));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
    for (const x of [res.total, ...res.terms.values(), ...res.raw.fg.values(), ...(res.raw.gt?.values() ?? []), ...leaves]) {
      x.grad?.dispose();
      x.dispose();
    }
  }, 300_000);
});

describe('linear_sum_assignment', () => {
  function brute(c: number[], r: number, n: number): number {
    // rows <= cols: the minimum over injective row -> column maps
    let best = Infinity;
    const used = new Array(n).fill(false);
    const go = (i: number, acc: number) => {
      if (i === r) return void (best = Math.min(best, acc));
      for (let j = 0; j < n; j++) {
        if (used[j]) continue;
        used[j] = true;
        go(i + 1, acc + c[i * n + j]);
        used[j] = false;
      }
    };
    go(0, 0);
    return best;
  }
  it("solves scipy's documented example", () => {
    expect(linearSumAssignment([4, 1, 3, 2, 0, 5, 3, 2, 2], 3, 3)).toEqual({ rows: [0, 1, 2], cols: [1, 0, 2] });
  });
  it('finds the brute-force optimum on random wide and tall matrices (tall ones transposed, rows ascending)', () => {
    const g = new Generator(5);
    for (const [r, c] of [[3, 5], [5, 3], [4, 4], [6, 2], [1, 7], [7, 1]]) {
      for (let rep = 0; rep < 20; rep++) {
        const cost = Array.from({ length: r * c }, () => (rep % 2 ? g.int(0, 4) : g.normal()));
        const res = linearSumAssignment(cost, r, c);
        expect(res.rows.length).toBe(Math.min(r, c));
        expect([...res.rows].sort((a, b) => a - b)).toEqual(res.rows);
        expect(new Set(res.cols).size).toBe(res.cols.length);
        const total = res.rows.reduce((a, i, k) => a + cost[i * c + res.cols[k]], 0);
        const t = Array.from({ length: c * r }, (_, k) => cost[(k % r) * c + Math.floor(k / r)]);
        expect(total).toBeCloseTo(r <= c ? brute(cost, r, c) : brute(t, c, r), 9);
      }
    }
  });
  it('rejects NaN and infeasible matrices with a typed error', () => {
    expect(() => linearSumAssignment([1, NaN], 1, 2)).toThrow(AssignmentError);
    expect(() => linearSumAssignment([Infinity, Infinity, 1, 2], 2, 2)).toThrow(/infeasible/);
  });
});

describe('SegLLM targets', () => {
  it('[reference, target] with split token maps, or [target] alone; boxes as BitMasks + prepare_targets', () => {
    const ref = rect(3, 2, 7, 5);
    const tgt = rect(8, 8, 16, 24);
    const two = segllmTarget(tgt, ref, S);
    expect(two.numInstances).toBe(2);
    expect(two.positiveMap).toEqual([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]]);
    // reference: x 3..6, y 2..4 -> [3, 2, 7, 5] px -> cxcywh (5/32, 3.5/32, 4/32, 3/32)
    expect(Array.from(targetBoxes(two))).toEqual([5 / 32, 3.5 / 32, 4 / 32, 3 / 32, 12 / 32, 16 / 32, 8 / 32, 16 / 32]);
    const one = segllmTarget(tgt, new Uint8Array(S * S), S);
    expect(one.numInstances).toBe(1);
    expect(one.positiveMap).toEqual([[0, 0, 0, 0, 1, 1, 1, 1]]);
    expect(segllmTarget(tgt, null, S).masks).toEqual(tgt);
    expect(() => segllmTarget(tgt, null, 16)).toThrow(HipieTargetError);
  });
});

describe('uncertainty point sampling', () => {
  it('draws 3P candidates then the uniform points, keeping the 0.75 P with the smallest |logit|', async () => {
    // logit = 8 (x - 0.5): the most uncertain candidates are those closest to x = 0.5
    const n = 8;
    const logits = fromStorageArray(Float32Array.from({ length: n * n }, (_, k) => 8 * (((k % n) + 0.5) / n - 0.5)), [1, n, n], 'float32');
    let i = 0;
    const draws: number[] = [];
    const rng = () => {
      const v = ((i++ * 0.6180339887) % 1) * 0.8 + 0.1; // inside the border half-pixels, where zero padding would shrink |logit|
      draws.push(Math.fround(v));
      return v;
    };
    const pts = await uncertainPoints(logits, rng, 16);
    expect(pts.shape).toEqual([1, 16, 2]);
    expect(draws).toHaveLength(2 * 48 + 2 * 4);
    const p = await pts.data();
    const cand = Array.from({ length: 48 }, (_, k) => [draws[2 * k], draws[2 * k + 1]]);
    const u = (x: number) => Math.abs(x - 0.5);
    const want = [...cand].sort((a, b) => u(a[0]) - u(b[0])).slice(0, 12);
    const got = Array.from({ length: 12 }, (_, k) => [p[2 * k], p[2 * k + 1]]);
    // bilinear sampling of a linear ramp is exact away from the borders, so the order is that of |x - 0.5|
    expect(got).toEqual(want);
    expect(Array.from(p.slice(24))).toEqual(draws.slice(96));
    logits.dispose();
    pts.dispose();
  });
});

describe('hipieLoss input checks and memory', () => {
  it('names the input whose shape does not fit', async () => {
    const d = deepLeaves(1);
    const { input, leaves } = deepInput(d, false, 1);
    const bad = { ...input, fg: { ...input.fg, layers: [{ ...input.fg.layers[0], boxes: fromStorageArray(new Float64Array(2 * Q * 3), [2, Q, 3], 'float64') }, input.fg.layers[1]] } };
    await expect(hipieLoss(bad)).rejects.toThrow(/fg\.0\.boxes/);
    await expect(hipieLoss({ ...input, gt: { ...input.gt!, maxT: 1 } })).rejects.toThrow(HipieTargetError);
    leaves.forEach((x) => x.dispose());
    bad.fg.layers[0].boxes.dispose();
  });
  it('leaves no tensor behind once the result and the inputs are disposed', async () => {
    const d = deepLeaves(2);
    const before = liveTensorCount();
    const { input, leaves } = deepInput(d, true, 2);
    const r = await hipieLoss(input);
    r.total.backward();
    for (const x of new Set([r.total, ...r.terms.values(), ...r.raw.fg.values(), ...(r.raw.gt?.values() ?? []), ...leaves])) {
      x.grad?.dispose();
      x.dispose();
    }
    expect(liveTensorCount()).toBe(before);
  });
});
