import { describe, expect, it } from 'vitest';
import {
  Generator, IndexDtypeError, IndexOutOfRangeError, ShapeError, embedding, gather, indexSelect, maskedFill, randn, scatterAdd, tensor,
} from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { availableBackends, gradcheck } from '@segllm/tensor/testing';

// Backends without these kernels yet (WebGPU until it implements them) are left out.
// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();
const i32 = (v: number[] | number[][], backend: string) => tensor(v, { dtype: 'int32', backend });

describe.each(backends)('indexing on %s', (backend) => {
  it('gather along dim 1 and dim 0 (torch.gather semantics, smaller index)', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { backend });
    expect(await gather(x, 1, i32([[2, 0], [1, 1]], backend)).toArray()).toEqual([[3, 1], [5, 5]]);
    expect(await x.gather(0, i32([[1, 0, 1]], backend)).toArray()).toEqual([[4, 2, 6]]);
    expect(await gather(x.transpose(0, 1), -1, i32([[1], [0], [1]], backend)).toArray()).toEqual([[4], [2], [6]]);
  });

  it('scatterAdd is out of place and accumulates duplicates', async () => {
    const x = tensor([[1, 1, 1], [1, 1, 1]], { backend });
    const src = tensor([[10, 20, 30], [40, 50, 60]], { backend });
    const y = scatterAdd(x, 1, i32([[0, 0], [2, 1]], backend), src);
    expect(await y.toArray()).toEqual([[31, 1, 1], [1, 51, 41]]);
    expect(await x.toArray()).toEqual([[1, 1, 1], [1, 1, 1]]);
  });

  it('indexSelect picks slices along a dim, repeats allowed', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { backend });
    expect(await indexSelect(x, 1, i32([2, 2, 0], backend)).toArray()).toEqual([[3, 3, 1], [6, 6, 4]]);
    expect(await x.indexSelect(0, i32([1], backend)).toArray()).toEqual([[4, 5, 6]]);
    expect(indexSelect(x, 0, tensor(new Int32Array(0), { backend })).shape).toEqual([0, 3]);
  });

  it('embedding looks up rows for ids of any shape', async () => {
    const w = tensor([[0, 0.5], [1, 1.5], [2, 2.5]], { backend });
    const e = embedding(i32([[2, 0], [1, 2]], backend), w);
    expect(e.shape).toEqual([2, 2, 2]);
    expect(await e.toArray()).toEqual([[[2, 2.5], [0, 0.5]], [[1, 1.5], [2, 2.5]]]);
  });

  it('maskedFill broadcasts the mask and keeps the dtype', async () => {
    const x = tensor([[1, 2], [3, 4]], { backend });
    const y = maskedFill(x, tensor([true, false], { dtype: 'bool', backend }), -Infinity);
    expect(await y.toArray()).toEqual([[-Infinity, 2], [-Infinity, 4]]);
    expect(x.maskedFill(x.gt(2), 0).dtype).toBe('float32');
    expect(() => maskedFill(x, tensor([1, 0], { backend }), 0)).toThrow(ShapeError);
    expect(() => maskedFill(x, tensor([[[true]], [[false]]], { dtype: 'bool', backend }), 0)).toThrow(ShapeError);
  });

  it('throws typed errors for bad indices', () => {
    const x = tensor([[1, 2, 3]], { backend });
    if (backend === 'cpu') {
      expect(() => gather(x, 1, i32([[3]], backend))).toThrow(IndexOutOfRangeError);
      expect(() => indexSelect(x, 1, i32([-1], backend))).toThrow(IndexOutOfRangeError);
      expect(() => embedding(i32([5], backend), x)).toThrow(/embedding: index 5 is out of range for dim 0 of size 1/);
      expect(() => scatterAdd(x, 0, i32([[1]], backend), x)).toThrow(IndexOutOfRangeError);
    }
    expect(() => gather(x, 1, tensor([[0]], { backend }))).toThrow(IndexDtypeError);
    expect(() => gather(x, 1, i32([0], backend))).toThrow(ShapeError);
    expect(() => indexSelect(x, 1, i32([[0]], backend))).toThrow(ShapeError);
  });
});

describe('indexing gradients (float64 finite differences)', () => {
  const f64 = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed), dtype: 'float64' });
  it('gather with repeated indices, on a non-contiguous input', () => {
    const idx = tensor([[0, 0, 2], [1, 1, 1]], { dtype: 'int32' });
    const r = gradcheck((x) => gather(x.transpose(0, 1), 1, idx), [f64([3, 2], 1)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('scatterAdd in x and in a src larger than the index', () => {
    const idx = tensor([[0, 2], [0, 0]], { dtype: 'int32' });
    const r = gradcheck((x, s) => scatterAdd(x, 1, idx, s), [f64([2, 3], 2), f64([3, 3], 3)]);
    expect(r.ok, r.message).toBe(true);
  });
  it('indexSelect and embedding scatter-add back into rows', () => {
    const r1 = gradcheck((x) => indexSelect(x, 1, tensor([2, 0, 2], { dtype: 'int32' })), [f64([2, 3, 2], 4)]);
    expect(r1.ok, r1.message).toBe(true);
    const r2 = gradcheck((w) => embedding(tensor([[1, 3], [1, 1]], { dtype: 'int32' }), w), [f64([4, 3], 5)]);
    expect(r2.ok, r2.message).toBe(true);
  });
  it('embedding weight gradient sums repeated ids exactly', async () => {
    const w = tensor([[0, 0], [0, 0], [0, 0]], { dtype: 'float64', requiresGrad: true });
    embedding(tensor([1, 1, 2], { dtype: 'int32' }), w).mul(tensor([[1, 2], [3, 4], [5, 6]], { dtype: 'float64' })).sum().backward();
    expect(await w.grad!.toArray()).toEqual([[0, 0], [4, 6], [5, 6]]);
  });
  it('maskedFill passes the gradient where the mask is false', () => {
    const mask = tensor([[true, false, false], [false, false, true]], { dtype: 'bool' });
    const r = gradcheck((x) => maskedFill(x, mask, 3), [f64([2, 3], 6)]);
    expect(r.ok, r.message).toBe(true);
  });
});
