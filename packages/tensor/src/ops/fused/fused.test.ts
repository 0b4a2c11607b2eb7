import { describe, expect, it } from 'vitest';
import { FusedChainError, Generator, ShapeError, fuse, fused, getBackend, randn, tensor, traceChain } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { availableBackends, compareArrays, gradcheck } from '@segllm/tensor/testing';

const backends = await availableBackends();
const rand = (shape: number[], seed: number, backend: string, dtype: 'float32' | 'float64' = 'float32'): Tensor =>
  randn(shape, { generator: new Generator(seed), dtype, backend });

const swiglu = fuse((g, u) => g.silu().mul(u));
// parameters (clamp), constants on either side, a repeated operand and a unary of a binary
const mixed = fuse((x, b) => x.add(b).gelu().mul(0.5).sub(x.square()).clamp(-1, 2).add(1).div(b.abs().add(0.25)));

describe.each(backends)('fused elementwise chains on %s', (backend) => {
  // The CPU computes every step in float32 like its unfused ops, so it must agree bit for bit there; WebGPU (WGSL exp,
  // erf) and cpu-wasm (its own SIMD elementwise kernels for the unfused ops) round differently.
  const tol = backend === 'cpu' ? { rtol: 0, atol: 0 } : { rtol: 2e-6, atol: 2e-6 };
  const same = async (a: Tensor, b: Tensor) => {
    expect(a.shape).toEqual(b.shape);
    expect(a.dtype).toBe(b.dtype);
    const r = compareArrays(await a.data(), await b.data(), tol);
    expect(r.ok, JSON.stringify(r)).toBe(true);
  };

  it('SwiGLU with broadcasting equals the unfused ops', async () => {
    const g = rand([2, 3, 8], 1, backend);
    const u = rand([8], 2, backend);
    await same(swiglu(g, u), g.silu().mul(u));
    await same(swiglu(u, g), u.silu().mul(g));
  });

  it('constants, parameters and repeated operands; vec4 and scalar layouts; strided views', async () => {
    for (const n of [16, 7]) {
      const x = rand([3, n], 3, backend);
      const b = rand([3, n], 4, backend);
      const ref = x.add(b).gelu().mul(0.5).sub(x.square()).clamp(-1, 2).add(1).div(b.abs().add(0.25));
      await same(mixed(x, b), ref);
      const xt = x.transpose(0, 1);
      const bt = b.transpose(0, 1);
      await same(mixed(xt, bt), xt.add(bt).gelu().mul(0.5).sub(xt.square()).clamp(-1, 2).add(1).div(bt.abs().add(0.25)));
    }
  });

  it('an identity chain returns a copy; NaN and infinities propagate like the table rows', async () => {
    const x = tensor([1, -2, NaN, Infinity, -Infinity, 0], { backend });
    expect(Array.from(await fuse((a) => a)(x).data())).toEqual(Array.from(await x.data()));
    const y = Array.from(await fuse((a) => a.maximum(0).exp().nanToNum(-1))(x).data());
    expect(y[0]).toBeCloseTo(Math.E, 6);
    expect(y.slice(1)).toEqual([1, -1, Infinity, 1, 1]);
  });

  it.skipIf(!getBackend(backend).supports('fused', 'float16'))('float16 inputs are widened once and rounded once (needs shader-f16)', async () => {
    const g = rand([4, 8], 5, backend);
    const u = rand([4, 8], 6, backend);
    const h = swiglu(g.to('float16'), u.to('float16'));
    expect(h.dtype).toBe('float16');
    // reference: the f32 chain on the f16-rounded inputs, rounded to f16 once
    const ref = g.to('float16').to('float32').silu().mul(u.to('float16').to('float32')).to('float16');
    const r = compareArrays(await h.data(), await ref.data(), { rtol: 1e-3, atol: 1e-3 });
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  it('gradients equal those of the unfused ops (broadcast input reduced to its shape)', async () => {
    const run = async (f: (x: Tensor, b: Tensor) => Tensor) => {
      const x = rand([3, 4], 7, backend);
      const b = rand([4], 8, backend);
      x.requiresGrad = true;
      b.requiresGrad = true;
      f(x, b).mul(rand([3, 4], 9, backend)).sum().backward();
      return [await x.grad!.data(), await b.grad!.data()];
    };
    const [fx, fb] = await run((x, b) => mixed(x, b));
    const [ux, ub] = await run((x, b) => x.add(b).gelu().mul(0.5).sub(x.square()).clamp(-1, 2).add(1).div(b.abs().add(0.25)));
    for (const [a, b] of [[fx, ux], [fb, ub]]) {
      const r = compareArrays(a, b, { rtol: 1e-5, atol: 1e-6 });
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });

  it('bad input gets typed errors', () => {
    expect(() => swiglu(rand([2, 3], 1, backend))).toThrow(FusedChainError);
    expect(() => swiglu(rand([2, 3], 1, backend), tensor([1, 2, 3], { dtype: 'int32', backend }))).toThrow(/float tensors/);
    expect(() => swiglu(rand([2, 3], 1, backend), rand([4], 2, backend))).toThrow(ShapeError);
    expect(() => fused([{ binary: 'gt', a: { input: 0 }, b: { value: 0 } }], [rand([2], 1, backend)])).toThrow(/gives a bool/);
    expect(() => fused([{ unary: 'exp', x: { step: 0 }, p: 0, q: 0 }], [rand([2], 1, backend)])).toThrow(/does not exist/);
  });
});

describe('fused chain tracing and gradients (float64 finite differences)', () => {
  it('traces ops in call order with constants as values', () => {
    expect(traceChain((g, u) => g.silu().mul(u).add(2))).toEqual([
      { unary: 'silu', x: { input: 0 }, p: 0, q: 0 },
      { binary: 'mul', a: { step: 0 }, b: { input: 1 } },
      { binary: 'add', a: { step: 1 }, b: { value: 2 } },
    ]);
    const other = traceChain((x) => x.exp());
    expect(other).toHaveLength(1);
    expect(() => traceChain(() => 3 as never)).toThrow(FusedChainError);
  });

  it('gradcheck through a chain with broadcasting and a reused input', () => {
    const r = gradcheck((x, b) => mixed(x, b), [rand([3, 4], 11, 'cpu', 'float64'), rand([4], 12, 'cpu', 'float64')]);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const s = gradcheck((x) => fuse((a) => a.mul(a).add(a.sin()).tanh())(x), [rand([5], 13, 'cpu', 'float64')]);
    expect(s.ok, s.message).toBe(true);
  });
});
