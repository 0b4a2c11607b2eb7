import { describe, expect, it } from 'vitest';
import { availableBackends, gradcheck } from '../../testing/index.ts';
import { Generator, rand, randn } from '../../random.ts';
import { tensor } from '../../tensor.ts';
import type { Tensor } from '../../tensor.ts';
import { ShapeError } from '../../shape.ts';
import '../index.ts';
import { binaryCrossEntropyWithLogits, crossEntropy, diceLoss, l1Loss, sigmoidFocalLoss, smoothL1Loss, LossError } from './losses.ts';

const f64 = (shape: number[], seed: number) => randn(shape, { dtype: 'float64', generator: new Generator(seed) });
const mask64 = (shape: number[], seed: number) => rand(shape, { generator: new Generator(seed) }).gt(0.5).to('float64');

describe('loss gradchecks (float64)', () => {
  const target = tensor([2, -100, 0, 1], { dtype: 'int32' });
  it.each([
    ['crossEntropy mean with ignore_index', (x: Tensor) => crossEntropy(x, target)],
    ['crossEntropy label smoothing, sum', (x: Tensor) => crossEntropy(x, target, { labelSmoothing: 0.2, reduction: 'sum' })],
    ['crossEntropy class weights', (x: Tensor) => crossEntropy(x, target, { weight: tensor([1, 2, 0.5], { dtype: 'float64' }) })],
  ])('%s', (_n, f) => {
    const r = gradcheck(f, [f64([4, 3], 1)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('crossEntropy over [N, C, H, W] and probability targets', () => {
    const t = tensor([[[0, 1], [2, -100]], [[1, 1], [0, 2]]], { dtype: 'int32' });
    let r = gradcheck((x) => crossEntropy(x, t, { reduction: 'none' }), [f64([2, 3, 2, 2], 2)]);
    expect(r.ok, r.message).toBe(true);
    const p = f64([4, 3], 9).softmax(-1);
    r = gradcheck((x) => crossEntropy(x, p, { labelSmoothing: 0.1 }), [f64([4, 3], 3)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('binaryCrossEntropyWithLogits (logits and target), with posWeight and weight', () => {
    const t = rand([3, 4], { dtype: 'float64', generator: new Generator(5) });
    let r = gradcheck((x, y) => binaryCrossEntropyWithLogits(x, y, { reduction: 'none' }), [f64([3, 4], 4), t]);
    expect(r.ok, r.message).toBe(true);
    const pw = tensor([1, 2, 0.5, 3], { dtype: 'float64' });
    const w = tensor([[2], [1], [0.5]], { dtype: 'float64' });
    r = gradcheck((x, y) => binaryCrossEntropyWithLogits(x, y, { posWeight: pw, weight: w, reduction: 'sum' }), [f64([3, 4], 6), t]);
    expect(r.ok, r.message).toBe(true);
  });
  it('sigmoidFocalLoss, diceLoss, l1Loss, smoothL1Loss', () => {
    const m = mask64([2, 3, 4], 7);
    for (const f of [
      (x: Tensor) => sigmoidFocalLoss(x, m),
      (x: Tensor) => sigmoidFocalLoss(x, m, { alpha: -1, gamma: 1.5, reduction: 'mean' }),
      (x: Tensor) => diceLoss(x, m),
      (x: Tensor) => diceLoss(x, m, { scale: 1000, smooth: 1e-6, reduction: 'mean' }),
    ]) {
      const r = gradcheck(f, [f64([2, 3, 4], 8)]);
      expect(r.ok, r.message).toBe(true);
    }
    const y = f64([5], 10);
    for (const f of [(x: Tensor) => l1Loss(x, y), (x: Tensor) => smoothL1Loss(x, y, { beta: 0.5, reduction: 'none' })]) {
      const r = gradcheck(f, [f64([5], 11)]);
      expect(r.ok, r.message).toBe(true);
    }
  });
});

const backends = await availableBackends();

describe.each(backends)('loss values on %s', (backend) => {
  const t = (v: number[] | number[][], dtype: 'float32' | 'int32' = 'float32') => tensor(v, { backend, dtype });
  it('crossEntropy: ignore_index, reductions and label smoothing by hand', async () => {
    const x = t([[0, Math.log(3)], [1, 1], [5, 0]]);
    const y = t([1, -100, 0], 'int32');
    const l0 = -Math.log(3 / 4);
    const l2 = -(5 - Math.log(Math.exp(5) + 1));
    expect(Array.from(await crossEntropy(x, y, { reduction: 'none' }).data()).map((v) => +v.toFixed(6))).toEqual([+l0.toFixed(6), 0, +l2.toFixed(6)]);
    expect(await crossEntropy(x, y).item()).toBeCloseTo((l0 + l2) / 2, 6);
    expect(await crossEntropy(x, y, { reduction: 'sum' }).item()).toBeCloseTo(l0 + l2, 6);
    const lsm0 = [Math.log(1 / 4), Math.log(3 / 4)];
    const lsm2 = [5 - Math.log(Math.exp(5) + 1), -Math.log(Math.exp(5) + 1)];
    const s = 0.1;
    const smooth = (lsm: number[], k: number) => (1 - s) * -lsm[k] + (s / 2) * -(lsm[0] + lsm[1]);
    expect(await crossEntropy(x, y, { labelSmoothing: s }).item()).toBeCloseTo((smooth(lsm0, 1) + smooth(lsm2, 0)) / 2, 6);
    expect(() => crossEntropy(x, t([1, 0], 'int32'))).toThrow(ShapeError);
    expect(() => crossEntropy(x, y, { reduction: 'avg' as 'mean' })).toThrow(LossError);
  });

  it('binaryCrossEntropyWithLogits is stable at large logits and weights positives', async () => {
    const x = t([100, -100, 0, 2]);
    const y = t([0, 1, 1, 1]);
    const l = await binaryCrossEntropyWithLogits(x, y, { reduction: 'none' }).data();
    expect(Array.from(l.slice(0, 2))).toEqual([100, 100]);
    expect(l[2]).toBeCloseTo(Math.log(2), 6);
    expect(l[3]).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
    const lp = await binaryCrossEntropyWithLogits(x, y, { reduction: 'none', posWeight: t([3]) }).data();
    expect(lp[3]).toBeCloseTo(3 * Math.log(1 + Math.exp(-2)), 5);
    expect(lp[0]).toBe(100);
    // The gradient at x = 0 is exactly sigmoid(0) - t.
    const z = tensor([0, 0], { backend, requiresGrad: true });
    binaryCrossEntropyWithLogits(z, t([1, 0]), { reduction: 'sum' }).backward();
    expect(Array.from(await z.grad!.data())).toEqual([-0.5, 0.5]);
  });

  it('sigmoidFocalLoss and diceLoss by hand', async () => {
    const x = t([[0, 2]]);
    const y = t([[1, 0]]);
    const p = 1 / (1 + Math.exp(-2));
    const fl = await sigmoidFocalLoss(x, y).data();
    expect(fl[0]).toBeCloseTo(0.25 * Math.log(2) * 0.25, 6);
    expect(fl[1]).toBeCloseTo(0.75 * Math.log(1 + Math.exp(2)) * p * p, 5);
    const d = await diceLoss(x, y).data();
    expect(d[0]).toBeCloseTo(1 - (2 * 0.5 + 1) / (0.5 + p + 1 + 1), 6);
  });

  it('l1Loss and smoothL1Loss', async () => {
    const a = t([0, 1, 3]);
    const b = t([0.25, -1, 3]);
    expect(await l1Loss(a, b).item()).toBeCloseTo(2.25 / 3, 6);
    expect(Array.from(await smoothL1Loss(a, b, { reduction: 'none' }).data())).toEqual([0.03125, 1.5, 0]);
    expect(await smoothL1Loss(a, b, { beta: 0, reduction: 'sum' }).item()).toBeCloseTo(2.25, 6);
  });
});
