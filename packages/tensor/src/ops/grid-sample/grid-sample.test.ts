import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, SpatialOptionError, gridSample, interpolate, rand, randn, stack, tensor, zeros } from '@segllm/tensor';
import type { GridSampleOptions } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

const rnd = (shape: number[], seed: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  randn(shape, { generator: new Generator(seed), backend, dtype });
/** Uniform grid coordinates in [lo, hi). */
const coords = (shape: number[], seed: number, lo: number, hi: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  rand(shape, { generator: new Generator(seed), backend, dtype, low: lo, high: hi });

/** A [1, Ho, Wo, 2] grid of (x, y) = (xs[j], ys[i]). */
function meshGrid(xs: number[], ys: number[], backend: string) {
  const g: number[][][] = ys.map((y) => xs.map((x) => [x, y]));
  return tensor([g], { backend });
}

describe.each(backends)('gridSample on %s', (backend) => {
  const x = () => tensor([[[[1, 2], [3, 4]]]], { backend });
  const at = async (gx: number, gy: number, o: GridSampleOptions) => (await gridSample(x(), meshGrid([gx], [gy], backend), o).data())[0];

  it('samples pixel centres, corners and the outside as torch does', async () => {
    expect(await at(0, 0, {})).toBe(2.5);
    expect(await at(-1, -1, {})).toBe(0.25); // pixel (-0.5, -0.5): a quarter of x[0, 0], the rest is zero padding
    expect(await at(-1, -1, { paddingMode: 'border' })).toBe(1);
    expect(await at(-1, -1, { alignCorners: true })).toBe(1);
    expect(await at(1, -1, { alignCorners: true })).toBe(2);
    expect(await at(2, 0, {})).toBe(0);
    expect(await at(2, 0, { paddingMode: 'border' })).toBe(3);
  });

  it('on a pixel-aligned grid equals bilinear interpolate (align_corners true; false with border padding)', async () => {
    const img = rnd([2, 3, 5, 7], 1, backend);
    const [Ho, Wo] = [8, 11];
    const lin = (n: number) => Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
    const centres = (n: number) => Array.from({ length: n }, (_, i) => (2 * i + 1) / n - 1);
    const g1 = meshGrid(lin(Wo), lin(Ho), backend);
    const a = gridSample(img, stack([g1, g1]).reshape([2, Ho, Wo, 2]), { alignCorners: true });
    await assertClose(a, interpolate(img, { size: [Ho, Wo], mode: 'bilinear', alignCorners: true }), { rtol: 1e-5, atol: 1e-5 });
    const g2 = meshGrid(centres(Wo), centres(Ho), backend);
    const b = gridSample(img, stack([g2, g2]).reshape([2, Ho, Wo, 2]), { paddingMode: 'border' });
    await assertClose(b, interpolate(img, { size: [Ho, Wo], mode: 'bilinear' }), { rtol: 1e-5, atol: 1e-5 });
  });

  it('gives the grid no gradient along a coordinate that border padding clamps', async () => {
    const img = rnd([1, 2, 4, 4], 2, backend);
    const grid = meshGrid([1.7, 0.1], [0.2, -3], backend);
    grid.requiresGrad = true;
    gridSample(img, grid, { paddingMode: 'border' }).sum().backward();
    // Points (x, y): (1.7, 0.2) x clamped, (0.1, 0.2) inside, (1.7, -3) both clamped, (0.1, -3) y clamped.
    const g = Array.from(await grid.grad!.data());
    expect(g.map((v) => v !== 0)).toEqual([false, true, true, true, false, false, true, false]);
  });

  it('an empty grid gives an empty output and a zero input gradient', async () => {
    const img = rnd([1, 2, 3, 3], 7, backend);
    img.requiresGrad = true;
    const y = gridSample(img, zeros([1, 0, 4, 2], { backend }));
    expect(y.shape).toEqual([1, 2, 0, 4]);
    y.sum().backward();
    expect(Array.from(await img.grad!.data())).toEqual(new Array<number>(18).fill(0));
  });

  it('takes non-contiguous input and grid, and works as a method', async () => {
    const img = rnd([2, 4, 3, 5], 3, backend).permute([0, 3, 1, 2]); // [2, 5, 4, 3]
    const grid = coords([2, 2, 6, 2], 4, -1.2, 1.2, backend).permute([0, 2, 1, 3]); // [2, 6, 2, 2]
    const y = img.gridSample(grid);
    const y2 = gridSample(img.contiguous(), grid.contiguous());
    expect(y.shape).toEqual([2, 5, 6, 2]);
    expect(Array.from(await y.data())).toEqual(Array.from(await y2.data()));
  });
});

describe('gridSample gradients (float64 finite differences)', () => {
  const OPTS: GridSampleOptions[] = [
    { paddingMode: 'zeros', alignCorners: false },
    { paddingMode: 'zeros', alignCorners: true },
    { paddingMode: 'border', alignCorners: false },
    { paddingMode: 'border', alignCorners: true },
  ];
  it.each(OPTS.map((o) => [JSON.stringify(o), o] as const))('input and grid, %s', (_n, o) => {
    const img = rnd([2, 2, 4, 5], 5, 'cpu', 'float64');
    // Part of the grid falls outside [-1, 1] to cover zero padding and border clamping.
    const grid = coords([2, 3, 4, 2], 6, -1.3, 1.3, 'cpu', 'float64');
    const r = gradcheck((a, g) => gridSample(a, g, o), [img, grid]);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('gridSample argument checks', () => {
  it('rejects a grid of the wrong shape or batch with ShapeError', () => {
    const x = zeros([2, 1, 4, 4]);
    expect(() => gridSample(x, zeros([2, 3, 3, 3]))).toThrow(ShapeError);
    expect(() => gridSample(x, zeros([1, 3, 3, 2]))).toThrow(/the input's batch/);
  });
  it('rejects unknown modes with SpatialOptionError', () => {
    const x = zeros([1, 1, 4, 4]);
    const g = zeros([1, 2, 2, 2]);
    expect(() => gridSample(x, g, { paddingMode: 'reflection' as 'zeros' })).toThrow(SpatialOptionError);
    expect(() => gridSample(x, g, { mode: 'nearest' as 'bilinear' })).toThrow(SpatialOptionError);
  });
});
