import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, SpatialOptionError, gridSample, msDeformAttn, rand, randn, stack, zeros } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

type Dt = 'float32' | 'float64';
const rnd = (shape: number[], seed: number, backend?: string, dtype: Dt = 'float32') => randn(shape, { generator: new Generator(seed), backend, dtype });

/** Deformable DETR's PyTorch reference (ms_deform_attn_core_pytorch) composed from gridSample and view ops. */
function reference(value: Tensor, shapes: [number, number][], loc: Tensor, attw: Tensor): Tensor {
  const [N, , M, D] = value.shape;
  const [, Lq, , L, P] = loc.shape;
  const splits = value.split(shapes.map(([h, w]) => h * w), 1);
  const grids = loc.mul(2).sub(1);
  const outs = shapes.map(([h, w], l) => {
    const vl = splits[l].flatten(2).transpose(1, 2).reshape([N * M, D, h, w]);
    const gl = grids.select(3, l).transpose(1, 2).flatten(0, 1); // [N*M, Lq, P, 2]
    return gridSample(vl, gl, { mode: 'bilinear', paddingMode: 'zeros', alignCorners: false }); // [N*M, D, Lq, P]
  });
  const aw = attw.transpose(1, 2).reshape([N * M, 1, Lq, L * P]);
  const o = stack(outs, -2).flatten(-2).mul(aw).sum(-1).reshape([N, M * D, Lq]);
  return o.transpose(1, 2).contiguous();
}

function inputs(N: number, Lq: number, M: number, D: number, shapes: [number, number][], P: number, seed: number, backend: string, dtype: Dt) {
  const S = shapes.reduce((a, [h, w]) => a + h * w, 0);
  const L = shapes.length;
  const value = rnd([N, S, M, D], seed, backend, dtype);
  // Locations a little outside [0, 1] too, where samples fall (partly) into the zero padding.
  const loc = rand([N, Lq, M, L, P, 2], { generator: new Generator(seed + 1), backend, dtype, low: -0.15, high: 1.15 });
  const attw = rand([N, Lq, M, L, P], { generator: new Generator(seed + 2), backend, dtype });
  return { value, loc, attw };
}

describe.each(backends)('msDeformAttn on %s', (backend) => {
  it('matches the grid_sample reference formulation: output and all three gradients', async () => {
    const shapes: [number, number][] = [
      [6, 7],
      [3, 4],
      [1, 2],
    ];
    const { value, loc, attw } = inputs(2, 5, 3, 4, shapes, 3, 1, backend, 'float32');
    const w = rnd([2, 5, 12], 9, backend);
    const grads = (f: typeof reference) => {
      const ins = [value, loc, attw].map((t) => t.detach());
      for (const t of ins) t.requiresGrad = true;
      const y = f(ins[0], shapes, ins[1], ins[2]);
      y.mul(w).sum().backward();
      return { y, g: ins.map((t) => t.grad!) };
    };
    const mine = grads(msDeformAttn);
    const ref = grads(reference);
    expect(mine.y.shape).toEqual([2, 5, 12]);
    await assertClose(mine.y, ref.y, { rtol: 1e-5, atol: 1e-6 }, 'out');
    for (const [i, name] of ['value', 'loc', 'attw'].entries()) await assertClose(mine.g[i], ref.g[i], { rtol: 1e-4, atol: 1e-5 }, name);
  });

  it('takes non-contiguous inputs', async () => {
    const shapes: [number, number][] = [
      [4, 4],
      [2, 2],
    ];
    const { value, loc, attw } = inputs(1, 3, 2, 2, shapes, 2, 3, backend, 'float32');
    const v2 = value.transpose(2, 3).contiguous().transpose(2, 3);
    const a = await msDeformAttn(v2, shapes, loc, attw).data();
    const b = await msDeformAttn(value, shapes, loc, attw).data();
    expect(v2.isContiguous).toBe(false);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('msDeformAttn gradients (float64 finite differences)', () => {
  it('value, sampling locations and attention weights', () => {
    const shapes: [number, number][] = [
      [3, 4],
      [2, 2],
    ];
    const { value, loc, attw } = inputs(1, 2, 2, 3, shapes, 2, 5, 'cpu', 'float64');
    const r = gradcheck((v, l, a) => msDeformAttn(v, shapes, l, a), [value, loc, attw]);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('msDeformAttn argument checks', () => {
  const value = zeros([1, 20, 2, 4]);
  const loc = zeros([1, 3, 2, 2, 4, 2]);
  const attw = zeros([1, 3, 2, 2, 4]);
  it('rejects spatial shapes that do not cover the value rows', () => {
    expect(() => msDeformAttn(value, [[4, 4], [1, 3]], loc, attw)).toThrow(/cover 19 positions/);
    expect(() => msDeformAttn(value, [], loc, attw)).toThrow(SpatialOptionError);
  });
  it('rejects mismatched locations and weights with ShapeError', () => {
    const shapes: [number, number][] = [
      [4, 4],
      [2, 2],
    ];
    expect(() => msDeformAttn(value, shapes, zeros([1, 3, 2, 3, 4, 2]), attw)).toThrow(ShapeError);
    expect(() => msDeformAttn(value, shapes, loc, zeros([1, 3, 2, 2, 5]))).toThrow(ShapeError);
    expect(() => msDeformAttn(zeros([20, 2, 4]), shapes, loc, attw)).toThrow(ShapeError);
  });
});
