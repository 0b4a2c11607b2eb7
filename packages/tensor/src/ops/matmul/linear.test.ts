import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, getBackend, linear, matmul, randn, tensor, unary } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, compareArrays, gradcheck } from '@segllm/tensor/testing';
import { ACTIVATIONS, ActivationError, type Activation } from './linear.ts';

const backends = await availableBackends();
const rnd = (shape: number[], seed: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  randn(shape, { generator: new Generator(seed), backend, dtype });
const leaf = (t: Tensor) => {
  t.requiresGrad = true;
  return t;
};

/** The unfused composition: matmul, bias add, activation (each its own op). */
function unfused(x: Tensor, w: Tensor, b: Tensor | null, act: Activation): Tensor {
  const y = matmul(x, w.transpose(0, 1));
  const z = b ? y.add(b) : y;
  return act === 'none' ? z : unary(act, z);
}

/** Forward and gradients (of sum(y * cos-weights)) of `f`, as plain arrays. */
async function run(f: () => Tensor, leaves: Tensor[]): Promise<number[][]> {
  for (const t of leaves) t.grad = null;
  const y = f();
  const wts = tensor(Array.from({ length: y.numel }, (_, i) => Math.cos(i * 0.7)), { shape: y.shape, backend: y.backend.name });
  y.mul(wts).sum().backward();
  const out = [Array.from(await y.data())];
  for (const t of leaves) out.push(Array.from(await t.grad!.data()));
  return out;
}

describe.each(backends)('linear with a fused bias/activation epilogue on %s', (backend) => {
  const fusedHere = getBackend(backend).supports('matmul_bias_act', 'float32');

  it.each(ACTIVATIONS.map((a) => [a] as const))('%s: matches the unfused composition, forward and gradients', async (act) => {
    // x [2, 3, 20] (batch dims), W [12, 20], b [12]
    const x = leaf(rnd([2, 3, 20], 1, backend));
    const w = leaf(rnd([12, 20], 2, backend).mul(0.5));
    const b = leaf(rnd([12], 3, backend));
    const got = await run(() => linear(x, w, b, { activation: act }), [x, w, b]);
    const want = await run(() => unfused(x, w, b, act), [x, w, b]);
    expect(got.map((g) => g.length)).toEqual([72, 120, 240, 12]);
    for (let i = 0; i < want.length; i++) {
      const c = compareArrays(got[i], want[i], { rtol: 1e-5, atol: 1e-5 });
      expect(c.ok, `${["y", "dx", "dW", "db"][i]}: ${JSON.stringify(c.worst)}`).toBe(true);
    }
  });

  it('no bias with an activation; bias without one; a transposed (strided) input', async () => {
    const x = rnd([7, 9], 4, backend);
    const w = rnd([5, 9], 5, backend);
    const b = rnd([5], 6, backend);
    await assertClose(linear(x, w, null, { activation: 'silu' }), Array.from(await unfused(x, w, null, 'silu').data()), { rtol: 1e-5, atol: 1e-6 });
    await assertClose(linear(x, w, b), Array.from(await unfused(x, w, b, 'none').data()), { rtol: 1e-5, atol: 1e-6 });
    const xt = rnd([9, 7], 7, backend).transpose(0, 1);
    await assertClose(linear(xt, w, b, { activation: 'gelu' }), Array.from(await unfused(xt, w, b, 'gelu').data()), { rtol: 1e-5, atol: 1e-6 });
  });

  it('exact values on a hand-checked case (relu clips, bias per output column)', async () => {
    const x = tensor([1, 2, -1, 0.5], { shape: [2, 2], backend });
    const w = tensor([1, 0, 0, 1, 1, 1], { shape: [3, 2], backend });
    const b = tensor([0, -1, 0.5], { backend });
    // x W^T = [[1, 2, 3], [-1, 0.5, -0.5]]; + b = [[1, 1, 3.5], [-1, -0.5, 0]]
    expect(Array.from(await linear(x, w, b, { activation: 'relu' }).data())).toEqual([1, 1, 3.5, 0, 0, 0]);
    expect(Array.from(await linear(x, w, b).data())).toEqual([1, 1, 3.5, -1, -0.5, 0]);
  });

  it('a 1-D input falls back to the composition; bad shapes and activations throw typed errors', async () => {
    const w = rnd([4, 3], 8, backend);
    const v = rnd([3], 9, backend);
    const b = rnd([4], 10, backend);
    const y = linear(v, w, b, { activation: 'relu' });
    expect(y.shape).toEqual([4]);
    await assertClose(y, Array.from(await unfused(v, w, b, 'relu').data()), { rtol: 1e-6, atol: 1e-7 });
    expect(() => linear(rnd([2, 5], 11, backend), w, null, { activation: 'relu' })).toThrow(ShapeError);
    expect(() => linear(rnd([2, 3], 12, backend), w, null, { activation: 'tanh' as Activation })).toThrow(ActivationError);
    expect(fusedHere || backend === 'cpu-wasm').toBe(true);
  });
});

describe('linear epilogue gradcheck (float64, cpu)', () => {
  it.each(ACTIVATIONS.filter((a) => a !== 'relu').map((a) => [a] as const))('%s', (act) => {
    const x = rnd([2, 3, 4], 21, 'cpu', 'float64');
    const w = rnd([5, 4], 22, 'cpu', 'float64');
    const b = rnd([5], 23, 'cpu', 'float64');
    const r = gradcheck((xx, ww, bb) => linear(xx, ww, bb, { activation: act }), [x, w, b]);
    expect(r.ok, r.message).toBe(true);
  });
});
