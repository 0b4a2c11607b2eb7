import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, SpatialOptionError, arange, avgPool2d, liveTensorCount, maxPool2d, randn, tensor, tidy, zeros } from '@segllm/tensor';
import type { MaxPool2dOptions, Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

const rnd = (shape: number[], seed: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  randn(shape, { generator: new Generator(seed), backend, dtype });
const two = (v: number | [number, number] | undefined, dflt: [number, number]): [number, number] =>
  v === undefined ? dflt : typeof v === 'number' ? [v, v] : v;

/** Max pooling by direct loops over the (dilated) window, skipping padding; output size from the docs' formula. */
async function refMax(x: Tensor, o: MaxPool2dOptions): Promise<{ y: number[]; shape: number[] }> {
  const k = two(o.kernelSize, [1, 1]);
  const s = two(o.stride, k);
  const p = two(o.padding, [0, 0]);
  const d = two(o.dilation, [1, 1]);
  const [N, C, H, W] = x.shape;
  const size = (n: number, i: number) => {
    const r = (n + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i];
    let out = (o.ceilMode ? Math.ceil(r) : Math.floor(r)) + 1;
    if (o.ceilMode && (out - 1) * s[i] >= n + p[i]) out--;
    return out;
  };
  const [Ho, Wo] = [size(H, 0), size(W, 1)];
  const xa = await x.data();
  const y: number[] = [];
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        let m = -Infinity;
        for (let i = 0; i < k[0]; i++)
          for (let j = 0; j < k[1]; j++) {
            const ih = oh * s[0] - p[0] + i * d[0];
            const iw = ow * s[1] - p[1] + j * d[1];
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) m = Math.max(m, xa[(pl * H + ih) * W + iw]);
          }
        y.push(m);
      }
  return { y, shape: [N, C, Ho, Wo] };
}

describe.each(backends)('maxPool2d on %s', (backend) => {
  const CASES: [string, number[], MaxPool2dOptions][] = [
    ['3x3 stride 2 pad 1 (ResNet stem)', [2, 3, 9, 11], { kernelSize: 3, stride: 2, padding: 1 }],
    ['2x2 default stride', [1, 2, 6, 8], { kernelSize: 2 }],
    ['ceil mode', [1, 2, 7, 6], { kernelSize: 3, stride: 2, ceilMode: true }],
    ['ceil mode with padding (last window dropped)', [1, 1, 6, 6], { kernelSize: 2, stride: 2, padding: 1, ceilMode: true }],
    ['dilation and rectangular kernel', [1, 2, 9, 10], { kernelSize: [3, 2], stride: [1, 2], padding: [1, 1], dilation: [2, 3] }],
  ];
  it.each(CASES)('%s matches direct loops', async (_n, shape, o) => {
    const x = rnd(shape, 1, backend);
    const ref = await refMax(x, o);
    const y = maxPool2d(x, o);
    expect(y.shape).toEqual(ref.shape);
    await assertClose(y, ref.y, { rtol: 0, atol: 0 });
  });

  it('sends the gradient to the first maximum of a tie and accumulates over overlapping windows', async () => {
    const x = tensor([[[[1, 5, 5], [5, 2, 0], [3, 5, 4]]]], { backend, requiresGrad: true });
    const y = maxPool2d(x, { kernelSize: 2, stride: 1 });
    expect(Array.from(await y.data())).toEqual([5, 5, 5, 5]);
    y.mul(tensor([[[[1, 10], [100, 1000]]]], { backend })).sum().backward();
    // Window (0,0) picks (0,1) (first in row-major order); (0,1) picks (0,1); (1,0) picks (1,0); (1,1) picks (2,1).
    expect(Array.from(await x.grad!.data())).toEqual([0, 11, 0, 100, 0, 0, 0, 1000, 0]);
  });

  it('releases the saved indices after backward', () => {
    const x = rnd([1, 2, 6, 6], 5, backend);
    x.requiresGrad = true;
    const before = liveTensorCount();
    const loss = tidy(() => maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }).sum());
    loss.backward();
    loss.dispose();
    expect(liveTensorCount() - before).toBe(1); // x.grad
  });

  it('propagates NaN like torch (a NaN in the window is the maximum), with a 3-D input', async () => {
    const x = tensor([[[1, NaN], [3, 2]]], { backend });
    const y = maxPool2d(x, { kernelSize: 2 });
    expect(y.shape).toEqual([1, 1, 1]);
    expect(Number.isNaN((await y.data())[0])).toBe(true);
  });

  it('takes non-contiguous input and works as a method', async () => {
    const v = rnd([2, 3, 5, 6], 2, backend).permute([0, 1, 3, 2]); // non-contiguous
    await assertClose(v.maxPool2d({ kernelSize: 2 }), (await refMax(v, { kernelSize: 2 })).y, { rtol: 0, atol: 0 });
  });
});

describe.each(backends)('avgPool2d on %s', (backend) => {
  const x = () => arange(9, undefined, 1, { backend, dtype: 'float32' }).reshape([1, 1, 3, 3]);
  it('divides by the padded window (countIncludePad) or by the valid part', async () => {
    const o = { kernelSize: 2, stride: 2, padding: 1 };
    expect(Array.from(await avgPool2d(x(), o).data())).toEqual([0, 0.75, 2.25, 6]);
    expect(Array.from(await avgPool2d(x(), { ...o, countIncludePad: false }).data())).toEqual([0, 1.5, 4.5, 6]);
  });
  it('in ceil mode, windows past the padded input are not counted even with countIncludePad', async () => {
    const y = x().avgPool2d({ kernelSize: 2, stride: 2, ceilMode: true });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(await y.data())).toEqual([2, 3.5, 6.5, 8]);
  });
  it('spreads the gradient over each window with the same divisor', async () => {
    const t = tensor([[[[0, 1, 2], [3, 4, 5], [6, 7, 8]]]], { backend, requiresGrad: true });
    avgPool2d(t, { kernelSize: 2, stride: 1, padding: 1, countIncludePad: false }).sum().backward();
    // Each pixel receives 1/(valid count) from each of the 4 windows that cover it.
    const corner = 1 + 1 / 2 + 1 / 2 + 1 / 4;
    const edge = 1 / 2 + 1 / 2 + 1 / 4 + 1 / 4;
    await assertClose(t.grad!, [corner, edge, corner, edge, 1, edge, corner, edge, corner], { rtol: 1e-6, atol: 0 });
  });
});

describe('pooling gradients (float64 finite differences)', () => {
  const MAX: MaxPool2dOptions[] = [
    { kernelSize: 3, stride: 2, padding: 1 },
    { kernelSize: [2, 3], stride: [1, 2], padding: [1, 0], dilation: [2, 1], ceilMode: true },
  ];
  it.each(MAX.map((o) => [JSON.stringify(o), o] as const))('maxPool2d %s', (_n, o) => {
    const r = gradcheck((a) => maxPool2d(a, o), [rnd([2, 2, 7, 6], 3, 'cpu', 'float64')]);
    expect(r.ok, r.message).toBe(true);
  });
  const AVG = [
    { kernelSize: 3, stride: 2, padding: 1 },
    { kernelSize: [2, 3] as [number, number], stride: [2, 1] as [number, number], padding: [1, 1] as [number, number], ceilMode: true, countIncludePad: false },
    { kernelSize: 3, stride: 2, ceilMode: true, countIncludePad: true },
  ];
  it.each(AVG.map((o) => [JSON.stringify(o), o] as const))('avgPool2d %s', (_n, o) => {
    const r = gradcheck((a) => avgPool2d(a, o), [rnd([1, 2, 7, 6], 4, 'cpu', 'float64')]);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('pooling argument checks', () => {
  it('rejects padding over half the kernel, a missing kernel and bad strides with SpatialOptionError', () => {
    const x = zeros([1, 1, 8, 8]);
    expect(() => maxPool2d(x, { kernelSize: 3, padding: 2 })).toThrow(SpatialOptionError);
    expect(() => avgPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(/at most half the kernel/);
    expect(() => maxPool2d(x, {} as MaxPool2dOptions)).toThrow(SpatialOptionError);
    expect(() => maxPool2d(x, { kernelSize: 2, stride: 0 })).toThrow(SpatialOptionError);
  });
  it('rejects inputs smaller than the window and non-4-D inputs with ShapeError', () => {
    expect(() => maxPool2d(zeros([1, 1, 2, 2]), { kernelSize: 3 })).toThrow(ShapeError);
    expect(() => avgPool2d(zeros([4, 4]), { kernelSize: 2 })).toThrow(ShapeError);
  });
});
