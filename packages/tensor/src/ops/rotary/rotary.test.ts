import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, applyRotaryEmb, randn, rotaryCosSin, rotateHalf, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { availableBackends, gradcheck } from '@segllm/tensor/testing';

const backends = await availableBackends();

describe.each(backends)('rotary embedding on %s', (backend) => {
  it('rotateHalf is cat(-x2, x1)', async () => {
    expect(await rotateHalf(tensor([[1, 2, 3, 4]], { backend })).toArray()).toEqual([[-3, -4, 1, 2]]);
    expect(() => rotateHalf(tensor([1, 2, 3], { backend }))).toThrow(ShapeError);
  });

  it('rotaryCosSin follows HF float32 inv_freq and cat(freqs, freqs)', async () => {
    const { cos, sin } = rotaryCosSin([0, 3, 100], 8, 10000, { backend });
    expect(cos.shape).toEqual([3, 8]);
    const c = await cos.data();
    const s = await sin.data();
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 8; i++) {
        const inv = Math.fround(1 / Math.fround(10000 ** Math.fround((2 * (i % 4)) / 8)));
        const f = Math.fround([0, 3, 100][t] * inv);
        expect(c[t * 8 + i]).toBeCloseTo(Math.cos(f), 6);
        expect(s[t * 8 + i]).toBeCloseTo(Math.sin(f), 6);
      }
    }
    // int32 tensor positions give the same tables.
    const fromTensor = rotaryCosSin(tensor([0, 3, 100], { dtype: 'int32', backend }), 8);
    expect(Array.from(await fromTensor.cos.data())).toEqual(Array.from(c));
    // Batched position ids [B, T] give [B, T, headDim].
    const batched = rotaryCosSin(tensor([[0, 3, 100], [3, 100, 0]], { dtype: 'int32', backend }), 8);
    expect(batched.sin.shape).toEqual([2, 3, 8]);
    expect(Array.from((await batched.sin.data()).slice(0, 24))).toEqual(Array.from(s));
  });

  it('applyRotaryEmb rotates pairs (i, i + D/2) by the position angle', async () => {
    const x = tensor([[[1, 0, 0, 1]]], { backend }); // [1, 1, 4]: pairs (1, 0) and (0, 1)
    const { cos, sin } = rotaryCosSin([2], 4, 1, { backend }); // theta 1: every inv_freq is 1, angle = 2
    const y = await applyRotaryEmb(x, cos, sin).data();
    const [c, s] = [Math.cos(2), Math.sin(2)];
    [c, -s, s, c].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
  });
});

describe('rotary gradients (float64 finite differences)', () => {
  it('applyRotaryEmb in x, cos and sin, with broadcasting', () => {
    const f64 = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed), dtype: 'float64' });
    const r = gradcheck((x, c, s) => applyRotaryEmb(x, c, s), [f64([2, 3, 4], 1), f64([3, 4], 2), f64([3, 4], 3)]);
    expect(r.ok, r.message).toBe(true);
  });
});
