import { describe, expect, it } from 'vitest';
import { Generator, cumsum, randn, tensor } from '@segllm/tensor';
import { availableBackends, gradcheck } from '@segllm/tensor/testing';

// Backends without these kernels yet (WebGPU until it implements them) are left out.
// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

describe.each(backends)('cumsum on %s', (backend) => {
  it('accumulates along each dim', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { backend });
    expect(await cumsum(x, 1).toArray()).toEqual([[1, 3, 6], [4, 9, 15]]);
    expect(await x.cumsum(0).toArray()).toEqual([[1, 2, 3], [5, 7, 9]]);
    expect(await cumsum(x.transpose(0, 1), -1).toArray()).toEqual([[1, 5], [2, 7], [3, 9]]);
  });
  it('gives int32 for bool and int inputs; handles empty dims', async () => {
    const b = cumsum(tensor([true, false, true], { dtype: 'bool', backend }), 0);
    expect(b.dtype).toBe('int32');
    expect(Array.from(await b.data())).toEqual([1, 1, 2]);
    expect(cumsum(tensor(new Float32Array(0), { backend, shape: [2, 0] }), 1).shape).toEqual([2, 0]);
  });
});

describe('cumsum gradient (float64 finite differences)', () => {
  it('is the reverse cumsum, on a non-contiguous input', () => {
    const x = randn([3, 4], { generator: new Generator(1), dtype: 'float64' });
    const r = gradcheck((t) => cumsum(t.transpose(0, 1), 1), [x]);
    expect(r.ok, r.message).toBe(true);
  });
});
