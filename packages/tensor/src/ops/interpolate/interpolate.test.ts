import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, SpatialOptionError, interpolate, randn, tensor, zeros } from '@segllm/tensor';
import type { InterpolateOptions, Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

const rnd = (shape: number[], seed: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  randn(shape, { generator: new Generator(seed), backend, dtype });
const row = (values: number[], backend: string) => tensor([[values]], { backend }).reshape([1, 1, 1, values.length]);

/**
 * The [out, in] interpolation matrix of one dim, from the formulas in PyTorch's docs/kernels, in float64:
 * bilinear src = scale*(o + 0.5) - 0.5 clamped at 0 (or scale*o with align_corners), nearest floor(o*scale).
 */
function matrix(mode: string, n: number, m: number, ac: boolean, scale: number | null): number[][] {
  const M = Array.from({ length: m }, () => new Array<number>(n).fill(0));
  const s = mode === 'bilinear' && ac ? (m > 1 ? (n - 1) / (m - 1) : 0) : scale ? 1 / scale : n / m;
  for (let o = 0; o < m; o++) {
    if (mode === 'nearest') {
      M[o][m === n ? o : Math.min(Math.floor(o * s), n - 1)] = 1;
      continue;
    }
    if (m === n) {
      M[o][o] = 1;
      continue;
    }
    const src = ac ? s * o : Math.max(s * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const l = src - i0;
    M[o][i0] += 1 - l;
    M[o][i1] += l;
  }
  return M;
}

/** y[n, c] = Mh . x[n, c] . Mw^T. */
async function reference(x: Tensor, out: [number, number], mode: string, ac: boolean, scales: [number | null, number | null]): Promise<number[]> {
  const [N, C, H, W] = x.shape;
  const mh = matrix(mode, H, out[0], ac, scales[0]);
  const mw = matrix(mode, W, out[1], ac, scales[1]);
  const xa = await x.data();
  const y: number[] = [];
  for (let pl = 0; pl < N * C; pl++)
    for (let i = 0; i < out[0]; i++)
      for (let j = 0; j < out[1]; j++) {
        let v = 0;
        for (let a = 0; a < H; a++) for (let b = 0; b < W; b++) v += mh[i][a] * mw[j][b] * xa[(pl * H + a) * W + b];
        y.push(v);
      }
  return y;
}

describe.each(backends)('interpolate on %s', (backend) => {
  it('bilinear, align_corners false and true, on known values', async () => {
    expect(Array.from(await interpolate(row([0, 4], backend), { size: [1, 4], mode: 'bilinear' }).data())).toEqual([0, 1, 3, 4]);
    const ac = interpolate(row([0, 10, 20], backend), { size: [1, 5], mode: 'bilinear', alignCorners: true });
    expect(Array.from(await ac.data())).toEqual([0, 5, 10, 15, 20]);
    // align_corners ignores the scale factor: 3 * 5/3 = 5 outputs at (in-1)/(out-1).
    const acs = interpolate(row([0, 10, 20], backend), { scaleFactor: [1, 5 / 3], mode: 'bilinear', alignCorners: true });
    expect(Array.from(await acs.data())).toEqual([0, 5, 10, 15, 20]);
  });

  it('nearest uses floor(dst * in/out), and 1/scaleFactor when a scale factor is given (torch)', async () => {
    expect(Array.from(await interpolate(row([0, 1, 2], backend), { size: [1, 5], mode: 'nearest' }).data())).toEqual([0, 0, 1, 1, 2]);
    const x = row([0, 1, 2, 3, 4], backend);
    expect(Array.from(await interpolate(x, { size: [1, 6], mode: 'nearest' }).data())).toEqual([0, 0, 1, 2, 3, 4]);
    expect(Array.from(await interpolate(x, { scaleFactor: [1, 1.3], mode: 'nearest' }).data())).toEqual([0, 0, 1, 2, 3, 3]);
  });

  it('bilinear with a scale factor samples at 1/scaleFactor, not in/out', async () => {
    const x = row([0, 10, 20, 30, 40], backend);
    const bySize = interpolate(x, { size: [1, 6], mode: 'bilinear' });
    const byScale = interpolate(x, { scaleFactor: [1, 1.3], mode: 'bilinear' });
    await assertClose(bySize, [0, 7.5, 95 / 6, 145 / 6, 32.5, 40], { rtol: 1e-6, atol: 1e-5 });
    await assertClose(byScale, [0.5, 1.5, 2.5, 3.5, 4.5, 5.5].map((h) => 10 * Math.max(h / 1.3 - 0.5, 0)), { rtol: 1e-6, atol: 1e-5 });
  });

  it('an output the size of the input is the input (torch shortcut), whatever the scale factor', async () => {
    const x = rnd([1, 2, 5, 4], 1, backend);
    const y = interpolate(x, { scaleFactor: 1.1, mode: 'bilinear' });
    expect(y.shape).toEqual([1, 2, 5, 4]);
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
  });

  const CASES: [string, number[], InterpolateOptions][] = [
    ['bilinear up, non-integer ratio', [2, 3, 5, 7], { size: [9, 16], mode: 'bilinear' }],
    ['bilinear down', [1, 2, 11, 9], { size: [4, 5], mode: 'bilinear' }],
    ['bilinear align_corners up/down', [1, 2, 6, 9], { size: [11, 4], mode: 'bilinear', alignCorners: true }],
    ['bilinear scale factors', [1, 1, 6, 5], { scaleFactor: [2.5, 0.7], mode: 'bilinear' }],
    ['nearest up/down', [2, 2, 5, 8], { size: [7, 3], mode: 'nearest' }],
    ['nearest 2x', [1, 2, 4, 3], { scaleFactor: 2, mode: 'nearest' }],
  ];
  it.each(CASES)('%s matches interpolation matrices', async (_n, shape, o) => {
    const x = rnd(shape, 2, backend);
    const y = interpolate(x, o);
    const sf = typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
    const out: [number, number] = o.size ?? [Math.floor(shape[2] * sf![0]), Math.floor(shape[3] * sf![1])];
    expect(y.shape).toEqual([shape[0], shape[1], ...out]);
    await assertClose(y, await reference(x, out, o.mode, o.alignCorners ?? false, sf ? [sf[0], sf[1]] : [null, null]), { rtol: 1e-5, atol: 1e-5 });
  });

  it('takes non-contiguous input and works as a method', async () => {
    const x = rnd([1, 6, 5, 2], 3, backend).permute([0, 3, 1, 2]);
    const y = x.interpolate({ size: [3, 8], mode: 'bilinear', alignCorners: true });
    await assertClose(y, await reference(x, [3, 8], 'bilinear', true, [null, null]), { rtol: 1e-5, atol: 1e-5 });
  });
});

describe('interpolate gradients (float64 finite differences)', () => {
  const CASES: [string, number[], InterpolateOptions][] = [
    ['bilinear up', [1, 2, 4, 5], { size: [7, 9], mode: 'bilinear' }],
    ['bilinear down', [1, 1, 9, 7], { size: [4, 3], mode: 'bilinear' }],
    ['bilinear align_corners', [2, 1, 4, 5], { size: [6, 3], mode: 'bilinear', alignCorners: true }],
    ['bilinear scale factor', [1, 1, 5, 4], { scaleFactor: [1.7, 0.8], mode: 'bilinear' }],
    ['nearest', [1, 2, 4, 5], { size: [7, 3], mode: 'nearest' }],
    ['nearest scale factor', [1, 1, 5, 3], { scaleFactor: 1.3, mode: 'nearest' }],
  ];
  it.each(CASES)('%s', (_n, shape, o) => {
    const r = gradcheck((a) => interpolate(a, o), [rnd(shape, 4, 'cpu', 'float64')]);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('interpolate argument checks', () => {
  const x = zeros([1, 1, 4, 4]);
  it('needs exactly one of size and scaleFactor, and a known mode', () => {
    expect(() => interpolate(x, { mode: 'bilinear' })).toThrow(SpatialOptionError);
    expect(() => interpolate(x, { mode: 'bilinear', size: [2, 2], scaleFactor: 2 })).toThrow(/exactly one/);
    expect(() => interpolate(x, { mode: 'bicubic' as 'bilinear', size: [2, 2] })).toThrow(SpatialOptionError);
    expect(() => interpolate(x, { mode: 'bilinear', size: [0, 2] })).toThrow(SpatialOptionError);
    expect(() => interpolate(x, { mode: 'bilinear', scaleFactor: -1 })).toThrow(SpatialOptionError);
  });
  it('rejects alignCorners with nearest, like torch', () => {
    expect(() => interpolate(x, { mode: 'nearest', size: [2, 2], alignCorners: false })).toThrow(/only be set with mode 'bilinear'/);
  });
  it('rejects non-4-D input and empty outputs with ShapeError', () => {
    expect(() => interpolate(zeros([4, 4]), { mode: 'nearest', size: [2, 2] })).toThrow(ShapeError);
    expect(() => interpolate(x, { mode: 'nearest', scaleFactor: 0.1 })).toThrow(ShapeError);
  });
});
