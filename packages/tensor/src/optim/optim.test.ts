import { describe, expect, it } from 'vitest';
import { availableBackends } from '../testing/index.ts';
import { tensor } from '../tensor.ts';
import { liveTensorCount } from '../memory.ts';
import type { Tensor } from '../tensor.ts';
import '../ops/index.ts';
import { AdamW, LRScheduler, OptimizerError, SGD, clipGradNorm, constantWithWarmup, cosineWithWarmup, linearWithWarmup } from './index.ts';

/** AdamW in float64 plain JS, straight from the PyTorch formula. */
function adamwRef(p0: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number; wd: number; amsgrad?: boolean }): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const vmax = p.map(() => 0);
  grads.forEach((g, t0) => {
    const t = t0 + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      vmax[i] = Math.max(vmax[i], v[i]);
      const vd = o.amsgrad ? vmax[i] : v[i];
      p[i] -= ((o.lr / (1 - o.b1 ** t)) * m[i]) / (Math.sqrt(vd) / Math.sqrt(1 - o.b2 ** t) + o.eps);
    }
  });
  return p;
}

const setGrad = (p: Tensor, g: number[]) => {
  p.grad?.dispose();
  p.grad = tensor(g, { dtype: p.dtype, backend: p.backend, shape: p.shape });
};

const backends = await availableBackends();

describe.each(backends)('optimisers on %s', (backend) => {
  const grads = [
    [0.5, -1, 2, 0],
    [0.25, 0.5, -3, 1e-3],
    [-1, 1, 1, -1],
  ];

  it.each([false, true])('AdamW matches the float64 formula over three steps (composite path: %s)', async (composite) => {
    const dtype = backend === 'cpu' ? 'float64' : 'float32';
    AdamW.forceComposite = composite;
    try {
      for (const amsgrad of [false, true]) {
        const p = tensor([1, -2, 0.5, 3], { dtype, backend, requiresGrad: true });
        const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.05, amsgrad });
        for (const g of grads) {
          setGrad(p, g);
          opt.step();
        }
        const want = adamwRef([1, -2, 0.5, 3], grads, { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.05, amsgrad });
        const got = await p.data();
        want.forEach((w, i) => expect(Math.abs(got[i] - w), `amsgrad ${amsgrad} element ${i}`).toBeLessThan(dtype === 'float64' ? 1e-12 : 1e-5)); // f32 GPU math: a few ulp per op
        expect(opt.stateOf(p)!.step).toBe(3);
        opt.dispose();
      }
    } finally {
      AdamW.forceComposite = false;
    }
  });

  it('AdamW first step by hand: p - lr*sign(g) (bias-corrected) after decoupled decay, and the tensor object stays', async () => {
    const p = tensor([1, -1], { backend, requiresGrad: true });
    const opt = new AdamW([p], { lr: 0.01, weightDecay: 0.1, eps: 0 });
    setGrad(p, [3, -0.5]);
    opt.step();
    const got = await p.data();
    expect(got[0]).toBeCloseTo(1 * (1 - 0.001) - 0.01, 7);
    expect(got[1]).toBeCloseTo(-1 * (1 - 0.001) + 0.01, 7);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    opt.dispose();
  });

  it('steps do not leak tensors', () => {
    const p = tensor([1, 2, 3], { backend, requiresGrad: true });
    const opts = [new AdamW([p]), new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 })];
    for (const opt of opts) {
      setGrad(p, [1, 1, 1]);
      opt.step();
      const before = liveTensorCount();
      for (let i = 0; i < 3; i++) opt.step();
      clipGradNorm([p], 1).dispose();
      expect(liveTensorCount()).toBe(before);
      opt.dispose();
    }
  });

  it('AdamW skips parameters without gradients and keeps per-group options', async () => {
    const a = tensor([1], { backend, requiresGrad: true });
    const b = tensor([1], { backend, requiresGrad: true });
    const opt = new AdamW([{ params: [a] }, { params: [b], weightDecay: 0, lr: 0.5 }], { lr: 0.1 });
    expect(opt.groups.map((g) => [g.lr, g.weightDecay])).toEqual([[0.1, 0.01], [0.5, 0]]);
    setGrad(b, [1]);
    opt.step();
    expect((await a.data())[0]).toBe(1);
    expect((await b.data())[0]).toBeCloseTo(0.5, 5);
    opt.dispose();
  });

  it('SGD: plain, momentum with dampening, Nesterov, weight decay (worked by hand)', async () => {
    const run = async (o: ConstructorParameters<typeof SGD>[1]) => {
      const p = tensor([1, 2], { backend, requiresGrad: true });
      const opt = new SGD([p], o);
      for (const g of [[1, -1], [0.5, 2]]) {
        setGrad(p, g);
        opt.step();
      }
      opt.dispose();
      return Array.from(await p.data());
    };
    const close = (a: number[], b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 6));
    close(await run({ lr: 0.1 }), [1 - 0.1 * 1.5, 2 - 0.1 * 1]);
    // momentum 0.9, dampening 0.5: buf1 = g1; buf2 = 0.9 g1 + 0.5 g2.
    close(await run({ lr: 0.1, momentum: 0.9, dampening: 0.5 }), [1 - 0.1 * (1 + 0.9 + 0.25), 2 - 0.1 * (-1 - 0.9 + 1)]);
    // Nesterov: d = g + 0.9 buf.
    {
      const b1 = [1, -1];
      const p1 = [1 - 0.1 * (1 + 0.9), 2 - 0.1 * (-1 - 0.9)];
      const b2 = [0.9 * b1[0] + 0.5, 0.9 * b1[1] + 2];
      close(await run({ lr: 0.1, momentum: 0.9, nesterov: true }), [p1[0] - 0.1 * (0.5 + 0.9 * b2[0]), p1[1] - 0.1 * (2 + 0.9 * b2[1])]);
    }
    // Weight decay 0.1: d = g + 0.1 p.
    {
      const p1 = [1 - 0.1 * (1 + 0.1), 2 - 0.1 * (-1 + 0.2)];
      close(await run({ lr: 0.1, weightDecay: 0.1 }), [p1[0] - 0.1 * (0.5 + 0.1 * p1[0]), p1[1] - 0.1 * (2 + 0.1 * p1[1])]);
    }
    expect(() => new SGD([tensor([1], { requiresGrad: true })], { lr: 0.1, nesterov: true })).toThrow(OptimizerError);
  });

  it('clipGradNorm scales by maxNorm / (total + 1e-6) only when above, and returns the total norm', async () => {
    const a = tensor([3, 0], { backend, requiresGrad: true });
    const b = tensor([[4]], { backend, requiresGrad: true });
    const c = tensor([7], { backend, requiresGrad: true }); // no grad: ignored
    setGrad(a, [3, 0]);
    setGrad(b, [4]);
    const total = clipGradNorm([a, b, c], 1);
    expect(await total.item()).toBeCloseTo(5, 6);
    expect((await a.grad!.data())[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect((await b.grad!.data())[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    const again = clipGradNorm([a, b], 10);
    expect(await again.item()).toBeCloseTo(1, 5);
    expect((await a.grad!.data())[0]).toBeCloseTo(0.6, 5);
    expect(await clipGradNorm([a, b], 1, Infinity).item()).toBeCloseTo(0.8, 5);
  });
});

describe('learning-rate schedules', () => {
  it('cosine with warmup follows the HF formula', () => {
    const f = cosineWithWarmup({ warmupSteps: 10, totalSteps: 110 });
    expect(f(0)).toBe(0);
    expect(f(5)).toBe(0.5);
    expect(f(10)).toBe(1);
    expect(f(60)).toBeCloseTo(0.5, 12);
    expect(f(110)).toBeCloseTo(0, 12);
    expect(f(35)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.25)), 12);
    expect(cosineWithWarmup({ warmupSteps: 0, totalSteps: 100, minRatio: 0.1 })(100)).toBeCloseTo(0.1, 12);
  });

  it('linear and constant', () => {
    const l = linearWithWarmup({ warmupSteps: 4, totalSteps: 12 });
    expect([0, 2, 4, 8, 12, 20].map(l)).toEqual([0, 0.5, 1, 0.5, 0, 0]);
    expect([0, 1, 3, 100].map(constantWithWarmup({ warmupSteps: 2 }))).toEqual([0, 0.5, 1, 1]);
    expect(constantWithWarmup()(0)).toBe(1);
    expect(() => linearWithWarmup({ warmupSteps: 5, totalSteps: 2 })).toThrow(OptimizerError);
  });

  it('LRScheduler sets every group from its initial lr', () => {
    const opt = new SGD([{ params: [tensor([1], { requiresGrad: true })] }, { params: [tensor([1], { requiresGrad: true })], lr: 1 }], { lr: 0.1 });
    const s = new LRScheduler(opt, linearWithWarmup({ warmupSteps: 2, totalSteps: 4 }));
    expect(s.lrs).toEqual([0, 0]);
    s.step();
    expect(s.lrs).toEqual([0.05, 0.5]);
    s.step();
    s.step();
    expect(s.lrs).toEqual([0.05, 0.5]);
    expect(opt.lr).toBe(0.05);
  });
});
