import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, batchNorm, groupNorm, layerNorm, randn, rmsNorm, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Backends without these kernels yet (WebGPU until it implements them) are left out.
// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();
const gen = () => new Generator(7);

/** Reference row normalisation in float64 JS: (x - mean) / sqrt(var + eps), or x / sqrt(mean(x^2) + eps). */
function refRows(x: ArrayLike<number>, n: number, eps: number, rms: boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from({ length: n }, (_, i) => x[r * n + i]);
    const m = rms ? 0 : row.reduce((a, b) => a + b, 0) / n;
    const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / n;
    for (const b of row) out.push((b - m) / Math.sqrt(v + eps));
  }
  return out;
}

describe.each(backends)('norms on %s', (backend) => {
  it('layerNorm over two trailing dims matches the formula, with affine', async () => {
    const x = randn([2, 3, 4], { generator: gen(), backend });
    const w = tensor([[1, 2, 3, 4], [-1, 0.5, 0, 2], [3, 1, 1, 1]], { backend });
    const b = tensor([[0, 1, 0, 1], [2, 2, 2, 2], [0, 0, 0, -1]], { backend });
    const y = layerNorm(x, [3, 4], w, b, 1e-5);
    const ref = refRows(await x.data(), 12, 1e-5, false);
    const wd = await w.data();
    const bd = await b.data();
    await assertClose(y, ref.map((v, i) => v * wd[i % 12] + bd[i % 12]), { rtol: 1e-5, atol: 1e-6 });
  });

  it('groupNorm normalises per (sample, group) and applies per-channel affine', async () => {
    const x = randn([2, 4, 3], { generator: gen(), backend });
    const w = tensor([1, 2, 3, 4], { backend });
    const b = tensor([0, -1, 1, 0.5], { backend });
    const y = groupNorm(x, 2, w, b);
    const ref = refRows(await x.data(), 6, 1e-5, false);
    await assertClose(y, ref.map((v, i) => v * [1, 2, 3, 4][Math.floor(i / 3) % 4] + [0, -1, 1, 0.5][Math.floor(i / 3) % 4]), { atol: 1e-5 });
  });

  it('rmsNorm matches HF LlamaRMSNorm, also for bfloat16 inputs (computed in float32, cast back, times weight)', async () => {
    const x = randn([3, 8], { generator: gen(), backend });
    const w = randn([8], { generator: new Generator(3), backend });
    const wd = await w.data();
    const y = rmsNorm(x, w, 1e-6);
    const ref = refRows(await x.data(), 8, 1e-6, true);
    await assertClose(y, ref.map((v, i) => v * wd[i % 8]), { atol: 1e-6 });
    const xb = x.to('bfloat16');
    const yb = rmsNorm(xb, null, 1e-6);
    expect(yb.dtype).toBe('bfloat16');
    const expected = tensor(refRows(await xb.data(), 8, 1e-6, true), { shape: [3, 8], backend }).to('bfloat16');
    expect(Array.from(await yb.data())).toEqual(Array.from(await expected.data()));
    // bfloat16 x with a float32 weight promotes to float32, as torch does.
    expect(rmsNorm(xb, w).dtype).toBe('float32');
  });

  it('batchNorm (eval) uses the running statistics', async () => {
    const x = tensor([[[1, 2]], [[3, 4]]], { backend }).reshape([2, 1, 2]);
    const y = batchNorm(x, tensor([2], { backend }), tensor([3.99999], { backend }), tensor([2], { backend }), tensor([1], { backend }), 1e-5);
    // (x - 2) / 2 * 2 + 1 = x - 1
    await assertClose(y, [0, 1, 2, 3], { atol: 1e-6 });
  });

  it('handles size-1 rows and empty batches', async () => {
    const y = layerNorm(tensor([[5], [7]], { backend }), [1]);
    await assertClose(y, [0, 0]);
    const e = layerNorm(randn([0, 4], { backend }), [4]);
    expect(e.shape).toEqual([0, 4]);
  });

  it('rejects mismatched shapes with ShapeError', () => {
    const x = randn([2, 6], { backend });
    expect(() => layerNorm(x, [5])).toThrow(ShapeError);
    expect(() => layerNorm(x, [6], randn([5], { backend }))).toThrow(ShapeError);
    expect(() => groupNorm(randn([2, 6, 2], { backend }), 4)).toThrow(/numGroups must divide C/);
    expect(() => rmsNorm(x, randn([4], { backend }))).toThrow(ShapeError);
  });
});

describe('norm gradients (float64 finite differences)', () => {
  const f64 = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed), dtype: 'float64' });
  it('layerNorm with weight and bias, on a non-contiguous input', () => {
    const r = gradcheck((x, w, b) => layerNorm(x.transpose(0, 1), [3], w, b), [f64([3, 4], 1), f64([3], 2), f64([3], 3)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('groupNorm', () => {
    const r = gradcheck((x, w, b) => groupNorm(x, 2, w, b), [f64([2, 4, 3], 4), f64([4], 5), f64([4], 6)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('rmsNorm', () => {
    const r = gradcheck((x, w) => rmsNorm(x, w, 1e-6), [f64([3, 5], 7), f64([5], 8)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('batchNorm (eval) in x, weight and bias', () => {
    const rv = randn([3], { generator: new Generator(9), dtype: 'float64' }).abs().add(0.5);
    const r = gradcheck((x, rm, w, b) => batchNorm(x, rm, rv, w, b), [f64([2, 3, 2], 10), f64([3], 11), f64([3], 12), f64([3], 13)]);
    expect(r.ok, r.message).toBe(true);
  });
});
