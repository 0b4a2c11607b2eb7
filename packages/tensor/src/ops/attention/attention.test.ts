import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, randn, scaledDotProductAttention, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Backends without these kernels yet (WebGPU until it implements them) are left out.
// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

/** Naive softmax(q k^T * scale + mask) v in float64 JS; causal bottom-right; kv head = floor(h / G). */
async function reference(q: Tensor, k: Tensor, v: Tensor, mask: number[] | null, causal: boolean, scale?: number): Promise<number[]> {
  const [B, Hq, Tq, D] = q.shape;
  const [, Hk, Tk] = k.shape;
  const Dv = v.shape[3];
  const [qa, ka, va] = [await q.data(), await k.data(), await v.data()];
  const sc = scale ?? 1 / Math.sqrt(D);
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / (Hq / Hk));
      for (let i = 0; i < Tq; i++) {
        const s: number[] = [];
        for (let j = 0; j < Tk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qa[((b * Hq + h) * Tq + i) * D + d] * ka[((b * Hk + kh) * Tk + j) * D + d];
          let val = dot * sc + (mask ? mask[i * Tk + j] : 0);
          if (causal && j > i + Tk - Tq) val = -Infinity;
          s.push(val);
        }
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, x) => a + x, 0);
        for (let d = 0; d < Dv; d++) out.push(e.reduce((a, p, j) => a + p * va[((b * Hk + kh) * Tk + j) * Dv + d], 0) / z);
      }
    }
  }
  return out;
}

const rnd = (shape: number[], seed: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  randn(shape, { generator: new Generator(seed), backend, dtype });

describe.each(backends)('scaledDotProductAttention on %s', (backend) => {
  it('grouped KV heads, causal aligned bottom-right with Tq < Tk, additive mask', async () => {
    const q = rnd([2, 4, 3, 5], 1, backend);
    const k = rnd([2, 2, 6, 5], 2, backend);
    const v = rnd([2, 2, 6, 3], 3, backend);
    const maskVals = Array.from({ length: 18 }, (_, i) => (i % 7 === 3 ? -Infinity : Math.sin(i)));
    const mask = tensor(maskVals, { shape: [3, 6], backend });
    const y = scaledDotProductAttention(q, k, v, { mask, isCausal: true, scale: 0.3 });
    expect(y.shape).toEqual([2, 4, 3, 3]);
    await assertClose(y, await reference(q, k, v, maskVals, true, 0.3), { rtol: 1e-5, atol: 1e-6 });
  });

  it('more than one block of query rows (Tq = 130 > 128), causal, GQA, broadcast bool mask per batch', async () => {
    const q = rnd([2, 2, 130, 4], 11, backend);
    const k = rnd([2, 1, 140, 4], 12, backend);
    const v = rnd([2, 1, 140, 3], 13, backend);
    const keep = Array.from({ length: 140 }, (_, j) => j % 5 !== 2);
    const mask = tensor(keep, { dtype: 'bool', shape: [1, 1, 1, 140], backend });
    const y = scaledDotProductAttention(q, k, v, { isCausal: true, mask });
    const additive = Array.from({ length: 130 * 140 }, (_, i) => (keep[i % 140] ? 0 : -Infinity));
    await assertClose(y, await reference(q, k, v, additive, true), { rtol: 1e-5, atol: 1e-6 });
  });

  it('a decode step (Tq = 1) with isCausal sees every cached key', async () => {
    const q = rnd([1, 2, 1, 4], 4, backend);
    const k = rnd([1, 2, 5, 4], 5, backend);
    const v = rnd([1, 2, 5, 4], 6, backend);
    const a = await scaledDotProductAttention(q, k, v, { isCausal: true }).data();
    const b = await scaledDotProductAttention(q, k, v).data();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('a bool mask equals the additive mask it stands for; fully masked rows are NaN', async () => {
    const q = rnd([1, 1, 2, 4], 7, backend);
    const k = rnd([1, 1, 3, 4], 8, backend);
    const v = rnd([1, 1, 3, 2], 9, backend);
    const keep = tensor([[true, false, true], [false, false, false]], { dtype: 'bool', backend });
    const y = await scaledDotProductAttention(q, k, v, { mask: keep }).data();
    const ref = await reference(q, k, v, [0, -Infinity, 0, -Infinity, -Infinity, -Infinity], false);
    await assertClose(tensor(Array.from(y.slice(0, 2))), ref.slice(0, 2), { atol: 1e-6 });
    expect(Number.isNaN(y[2]) && Number.isNaN(y[3])).toBe(true);
  });

  it('bfloat16 inputs are computed in float32 and rounded back', async () => {
    const [q, k, v] = [rnd([1, 2, 3, 4], 21, backend), rnd([1, 2, 5, 4], 22, backend), rnd([1, 2, 5, 4], 23, backend)];
    const [qb, kb, vb] = [q, k, v].map((t) => t.to('bfloat16'));
    const y = scaledDotProductAttention(qb, kb, vb, { isCausal: true });
    expect(y.dtype).toBe('bfloat16');
    const ref = scaledDotProductAttention(qb.to('float32'), kb.to('float32'), vb.to('float32'), { isCausal: true }).to('bfloat16');
    expect(Array.from(await y.data())).toEqual(Array.from(await ref.data()));
  });

  it('rejects incompatible shapes', () => {
    const q = rnd([1, 3, 2, 4], 1, backend);
    expect(() => scaledDotProductAttention(q, rnd([1, 2, 2, 4], 2, backend), rnd([1, 2, 2, 4], 3, backend))).toThrow(ShapeError);
    expect(() => scaledDotProductAttention(q, q, q, { mask: rnd([3, 3], 4, backend) })).toThrow(/does not broadcast/);
  });
});

describe('attention gradients (float64 finite differences)', () => {
  it('GQA + causal (Tq < Tk) with a non-contiguous q', () => {
    const r = gradcheck(
      (q, k, v) => scaledDotProductAttention(q.transpose(1, 2), k, v, { isCausal: true }),
      [rnd([1, 2, 4, 3], 1, undefined, 'float64'), rnd([1, 2, 3, 3], 2, undefined, 'float64'), rnd([1, 2, 3, 2], 3, undefined, 'float64')],
    );
    expect(r.ok, r.message).toBe(true);
  });
  it('bool mask, and an additive float mask (which gets a gradient too)', () => {
    const keep = tensor([[true, false, true], [true, true, false]], { dtype: 'bool' });
    const args = () => [rnd([2, 2, 2, 3], 4, undefined, 'float64'), rnd([2, 1, 3, 3], 5, undefined, 'float64'), rnd([2, 1, 3, 2], 6, undefined, 'float64')];
    const r1 = gradcheck((q, k, v) => scaledDotProductAttention(q, k, v, { mask: keep }), args());
    expect(r1.ok, r1.message).toBe(true);
    const r2 = gradcheck((q, k, v, m) => scaledDotProductAttention(q, k, v, { mask: m, scale: 0.7 }), [...args(), rnd([2, 1, 1, 3], 7, undefined, 'float64')]);
    expect(r2.ok, r2.message).toBe(true);
  });
});
