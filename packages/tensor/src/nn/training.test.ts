/** End-to-end training: seeded generated tasks, AdamW, loss must fall at least tenfold. */
import { describe, expect, it } from 'vitest';
import { Generator, rand } from '../random.ts';
import { tidy } from '../memory.ts';
import { noGrad } from '../autograd/engine.ts';
import type { Tensor } from '../tensor.ts';
import { fromStorageArray } from '../tensor.ts';
import { crossEntropy, l1Loss } from '../ops/index.ts';
import { AdamW, LRScheduler, clipGradNorm, cosineWithWarmup } from '../optim/index.ts';
import { Conv2d, GELU, Linear, Module, ReLU, Sequential } from './index.ts';

/** One optimisation step; returns the loss value. */
function step(model: Module, opt: AdamW, lossFn: () => Tensor): number {
  // Gradients created by backward() belong to the enclosing tidy scope, so backward runs outside tidy.
  const loss = tidy(lossFn);
  loss.backward();
  tidy(() => clipGradNorm(model.parameters(), 5));
  opt.step();
  opt.zeroGrad();
  const v = loss.dataSync()[0];
  loss.dispose();
  return v;
}

describe('training', () => {
  it('an MLP regresses a smooth 2-d function: loss falls more than tenfold', () => {
    const g = new Generator(11);
    const x = rand([128, 2], { low: -2, high: 2, generator: g }); // [128, 2]
    const y = noGrad(() => x.select(1, 0).sin().mul(x.select(1, 1).cos()).add(x.select(1, 1).mul(0.3)).unsqueeze(1)); // [128, 1]
    const model = new Sequential(new Linear(2, 32, { generator: g }), new GELU(), new Linear(32, 32, { generator: g }), new GELU(), new Linear(32, 1, { generator: g }));
    const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 1e-4 });
    const sched = new LRScheduler(opt, cosineWithWarmup({ warmupSteps: 10, totalSteps: 150 }));
    const mse = () => {
      const d = model.forward(x).sub(y);
      return d.square().mean();
    };
    const first = noGrad(() => tidy(() => mse().dataSync()[0]));
    let last = first;
    for (let i = 0; i < 150; i++) {
      last = step(model, opt, mse);
      sched.step();
    }
    const final = noGrad(() => tidy(() => mse().dataSync()[0]));
    console.log(`MLP loss ${first} -> ${final}`);
    expect(final, `loss ${first} -> ${final} (last train ${last})`).toBeLessThan(first / 10);
    // The prediction is genuinely close, not just relatively better.
    expect(noGrad(() => tidy(() => l1Loss(model.forward(x), y).dataSync()[0]))).toBeLessThan(0.1);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  }, 60_000);

  it('a small conv net learns to tell horizontal from vertical bars: cross-entropy falls more than tenfold', () => {
    const g = new Generator(5);
    const n = 64;
    // Images [n, 1, 8, 8]: a bright bar (row or column) at a random place plus noise; label 0 = horizontal, 1 = vertical.
    const pix = new Float32Array(n * 64);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      const k = g.int(0, 8);
      for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) pix[i * 64 + r * 8 + c] = ((labels[i] === 0 ? r : c) === k ? 1 : 0) + 0.2 * g.normal();
    }
    const x = tensorOf(pix, [n, 1, 8, 8]);
    const t = tensorOf(labels, [n]);
    class Net extends Module {
      features = new Sequential(new Conv2d(1, 8, 3, { padding: 1, generator: g }), new ReLU(), new Conv2d(8, 8, 3, { stride: 2, padding: 1, generator: g }), new ReLU());
      head = new Linear(8 * 4 * 4, 2, { generator: g });
      forward(v: Tensor): Tensor {
        return tidy(() => this.head.forward(this.features.forward(v).flatten(1)));
      }
    }
    const net = new Net();
    const opt = new AdamW(net.parameters(), { lr: 1e-2 });
    const ce = () => crossEntropy(net.forward(x), t);
    const first = noGrad(() => tidy(() => ce().dataSync()[0]));
    for (let i = 0; i < 80; i++) step(net, opt, ce);
    const final = noGrad(() => tidy(() => ce().dataSync()[0]));
    console.log(`conv net loss ${first} -> ${final}`);
    expect(final, `loss ${first} -> ${final}`).toBeLessThan(first / 10);
    opt.dispose();
    net.dispose();
  }, 60_000);
});

function tensorOf(a: Float32Array | Int32Array, shape: number[]): Tensor {
  return fromStorageArray(a, shape, a instanceof Int32Array ? 'int32' : 'float32');
}
