import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, argsort, randn, sort, tensor, topk } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { availableBackends, gradcheck } from '@segllm/tensor/testing';

// Backends without these kernels yet (WebGPU until it implements them) are left out.
// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

describe.each(backends)('sort and topk on %s', (backend) => {
  it('sort is stable in both directions (ties keep the lower index first)', async () => {
    const x = tensor([3, 1, 2, 1, 3, 0], { backend });
    const a = sort(x);
    expect(Array.from(await a.values.data())).toEqual([0, 1, 1, 2, 3, 3]);
    expect(Array.from(await a.indices.data())).toEqual([5, 1, 3, 2, 0, 4]);
    expect(a.indices.dtype).toBe('int32');
    const d = sort(x, -1, true);
    expect(Array.from(await d.values.data())).toEqual([3, 3, 2, 1, 1, 0]);
    expect(Array.from(await d.indices.data())).toEqual([0, 4, 2, 1, 3, 5]);
    expect(Array.from(await argsort(x).data())).toEqual([5, 1, 3, 2, 0, 4]);
  });

  it('sort places NaN last ascending and first descending, handles infinities', async () => {
    const x = tensor([1, NaN, -Infinity, Infinity, Infinity], { backend });
    expect(Array.from(await sort(x).indices.data())).toEqual([2, 0, 3, 4, 1]);
    expect(Array.from(await sort(x, 0, true).indices.data())).toEqual([1, 3, 4, 0, 2]);
  });

  it('sorts along an inner dim', async () => {
    const x = tensor([[[5, 1]], [[2, 7]], [[3, 3]]], { backend }); // [3, 1, 2]
    const s = x.sort(0);
    expect(await s.values.toArray()).toEqual([[[2, 1]], [[3, 3]], [[5, 7]]]);
    expect(await s.indices.toArray()).toEqual([[[1, 0]], [[2, 2]], [[0, 1]]]);
  });

  it('topk: largest and smallest, ties lower index first, along dim 0', async () => {
    const x = tensor([[4, 9, 9, 1], [9, 0, 2, 2]], { backend });
    const t = topk(x, 2);
    expect(await t.values.toArray()).toEqual([[9, 9], [9, 2]]);
    expect(await t.indices.toArray()).toEqual([[1, 2], [0, 2]]);
    const s = x.topk(3, -1, false);
    expect(await s.indices.toArray()).toEqual([[3, 0, 1], [1, 2, 3]]);
    const c = topk(x, 1, 0);
    expect(await c.values.toArray()).toEqual([[9, 9, 9, 2]]);
    expect(await c.indices.toArray()).toEqual([[1, 0, 0, 1]]);
    expect(topk(x, 0).values.shape).toEqual([2, 0]);
    expect(() => topk(x, 5)).toThrow(ShapeError);
  });

  it('handles empty dims and size-1 dims', async () => {
    expect(sort(tensor(new Float32Array(0), { shape: [2, 0], backend })).values.shape).toEqual([2, 0]);
    expect(sort(tensor(new Float32Array(0), { shape: [0, 3], backend }), 1).indices.shape).toEqual([0, 3]);
    const one = topk(tensor([[5], [2]], { backend }), 1);
    expect(Array.from(await one.indices.data())).toEqual([0, 0]);
  });

  it('sorts int32 tensors', async () => {
    const s = sort(tensor([3, -2, 7], { dtype: 'int32', backend }), 0, true);
    expect(s.values.dtype).toBe('int32');
    expect(Array.from(await s.values.data())).toEqual([7, 3, -2]);
  });
});

describe('sort/topk gradients scatter back (float64 finite differences)', () => {
  const f64 = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed), dtype: 'float64' });
  it('sort values along dim 0 of a non-contiguous input', () => {
    const r = gradcheck((x) => sort(x.transpose(0, 1), 0, true).values, [f64([3, 4], 1)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('topk values', () => {
    const r = gradcheck((x) => topk(x, 2, 1).values, [f64([3, 5], 2)]);
    expect(r.ok, r.message).toBe(true);
  });
});
