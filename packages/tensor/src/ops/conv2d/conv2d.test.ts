import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, SpatialOptionError, conv2d, liveTensorCount, randn, tidy, zeros } from '@segllm/tensor';
import type { Conv2dOptions, Tensor } from '@segllm/tensor';
import { assertClose, availableBackends, gradcheck } from '@segllm/tensor/testing';

// Every backend registers these kernels: no filtering, so a backend that lost one fails here instead of skipping.
const backends = await availableBackends();

const rnd = (shape: number[], seed: number, backend?: string, dtype: 'float32' | 'float64' = 'float32') =>
  randn(shape, { generator: new Generator(seed), backend, dtype });

interface Cfg {
  s: [number, number];
  p: [number, number];
  d: [number, number];
  g: number;
}

const cfgOf = (o: Conv2dOptions): Cfg => {
  const two = (v: number | [number, number] | undefined, dflt: number): [number, number] => (v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v);
  return { s: two(o.stride, 1), p: two(o.padding, 0), d: two(o.dilation, 1), g: o.groups ?? 1 };
};

/**
 * Direct-loop convolution in float64 and its adjoints: y = conv(x, w) + b, gx = dL/dx, gw = dL/dw for
 * L = sum(y * gy).
 */
async function reference(x: Tensor, w: Tensor, b: Tensor | null, gy: Float64Array | null, o: Conv2dOptions) {
  const { s, p, d, g } = cfgOf(o);
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const Ho = Math.floor((H + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0]) + 1;
  const Wo = Math.floor((W + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1]) + 1;
  const xa = await x.data();
  const wa = await w.data();
  const ba = b ? await b.data() : undefined;
  const y = new Float64Array(N * O * Ho * Wo);
  const gx = new Float64Array(xa.length);
  const gw = new Float64Array(wa.length);
  const Og = O / g;
  for (let n = 0; n < N; n++)
    for (let oc = 0; oc < O; oc++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const yi = ((n * O + oc) * Ho + oh) * Wo + ow;
          let acc = ba ? ba[oc] : 0;
          for (let c = 0; c < Cg; c++) {
            const ic = Math.floor(oc / Og) * Cg + c;
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const ih = oh * s[0] - p[0] + i * d[0];
                const iw = ow * s[1] - p[1] + j * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xi = ((n * C + ic) * H + ih) * W + iw;
                const wi = ((oc * Cg + c) * kh + i) * kw + j;
                acc += xa[xi] * wa[wi];
                if (gy) {
                  gx[xi] += wa[wi] * gy[yi];
                  gw[wi] += xa[xi] * gy[yi];
                }
              }
          }
          y[yi] = acc;
        }
  return { y, gx, gw, shape: [N, O, Ho, Wo] };
}

const CASES: [string, number[], number[], Conv2dOptions][] = [
  ['3x3 s1 p1', [2, 3, 7, 6], [4, 3, 3, 3], { padding: 1 }],
  ['3x3 s2 p1 (odd size)', [1, 4, 9, 8], [5, 4, 3, 3], { stride: 2, padding: 1 }],
  ['rectangular kernel, per-dim stride/padding/dilation', [2, 3, 10, 9], [2, 3, 3, 2], { stride: [2, 1], padding: [2, 1], dilation: [2, 3] }],
  ['1x1 pointwise', [2, 6, 5, 4], [3, 6, 1, 1], {}],
  ['1x1 stride 2 (not pointwise)', [1, 4, 7, 7], [3, 4, 1, 1], { stride: 2 }],
  ['groups 2 with padding', [2, 4, 6, 7], [6, 2, 3, 3], { padding: 1, groups: 2 }],
  ['depthwise (groups = channels)', [1, 4, 6, 6], [8, 1, 3, 3], { padding: 1, groups: 4 }],
  ['padding larger than the kernel', [1, 2, 4, 5], [3, 2, 2, 2], { padding: 3, stride: 2 }],
  ['kernel = input (one output pixel)', [2, 3, 5, 4], [2, 3, 5, 4], {}],
];

describe.each(backends)('conv2d on %s', (backend) => {
  it.each(CASES)('%s: forward and input/weight/bias gradients match direct loops', async (_name, xs, ws, o) => {
    const x = rnd(xs, 1, backend);
    const w = rnd(ws, 2, backend);
    const b = rnd([ws[0]], 3, backend);
    x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
    const y = conv2d(x, w, b, o);
    const gyT = rnd(y.shape as number[], 4, backend);
    const gy = Float64Array.from(await gyT.data());
    const ref = await reference(x, w, b, gy, o);
    expect(y.shape).toEqual(ref.shape);
    await assertClose(y, ref.y, { rtol: 1e-5, atol: 1e-5 }, 'y');
    y.mul(gyT).sum().backward();
    await assertClose(x.grad!, ref.gx, { rtol: 1e-5, atol: 1e-5 }, 'gx');
    await assertClose(w.grad!, ref.gw, { rtol: 1e-5, atol: 1e-5 }, 'gw');
    const gb = new Float64Array(ws[0]);
    const [N, O, Ho, Wo] = ref.shape;
    for (let i = 0; i < gy.length; i++) gb[Math.floor(i / (Ho * Wo)) % O] += gy[i];
    expect(N).toBe(xs[0]);
    await assertClose(b.grad!, gb, { rtol: 1e-5, atol: 1e-5 }, 'gb');
  });

  it('tiles large images over output rows (forward and both gradients)', async () => {
    // 64 channels x 3x3 x 64 columns per output row: the column buffer holds 7 of the 64 rows at a time.
    const x = rnd([1, 64, 64, 64], 5, backend);
    const w = rnd([2, 64, 3, 3], 6, backend);
    x.requiresGrad = w.requiresGrad = true;
    const y = conv2d(x, w, null, { padding: 1 });
    const gyT = rnd([1, 2, 64, 64], 7, backend);
    const gy = Float64Array.from(await gyT.data());
    const ref = await reference(x, w, null, gy, { padding: 1 });
    await assertClose(y, ref.y, { rtol: 1e-4, atol: 1e-4 }, 'y');
    y.mul(gyT).sum().backward();
    await assertClose(x.grad!, ref.gx, { rtol: 1e-4, atol: 1e-4 }, 'gx');
    await assertClose(w.grad!, ref.gw, { rtol: 1e-4, atol: 1e-3 }, 'gw');
  });

  it('takes non-contiguous views, unbatched [C, H, W] input and the Tensor method', async () => {
    const base = rnd([2, 5, 6, 3], 8, backend); // NHWC
    const x = base.permute([0, 3, 1, 2]); // [2, 3, 5, 6], non-contiguous
    const w = rnd([4, 3, 3, 3], 9, backend);
    const ref = await reference(x, w, null, null, { padding: 1 });
    await assertClose(x.conv2d(w, null, { padding: 1 }), ref.y, { rtol: 1e-5, atol: 1e-5 });
    const one = conv2d(x.select(0, 1), w, null, { padding: 1 });
    expect(one.shape).toEqual([4, 5, 6]);
    await assertClose(one, ref.y.slice(4 * 30), { rtol: 1e-5, atol: 1e-5 });
  });

  it('computes float16 and bfloat16 in float32 and stores the result in the input dtype', async () => {
    const x = rnd([1, 3, 6, 5], 14, backend);
    const w = rnd([2, 3, 3, 3], 15, backend);
    for (const dt of ['float16', 'bfloat16'] as const) {
      const y = conv2d(x.to(dt), w.to(dt), null, { padding: 1 });
      expect(y.dtype).toBe(dt);
      const ref = await reference(x.to(dt).to('float32'), w.to(dt).to('float32'), null, null, { padding: 1 });
      await assertClose(y.to('float32'), ref.y, { rtol: dt === 'float16' ? 2e-3 : 1e-2, atol: 1e-2 }, dt);
    }
  });

  it('leaves no tensors behind after a tidy forward and backward', () => {
    const x = rnd([1, 2, 5, 5], 16, backend);
    const w = rnd([3, 2, 3, 3], 17, backend);
    x.requiresGrad = w.requiresGrad = true;
    const before = liveTensorCount();
    const loss = tidy(() => conv2d(x, w, null, { padding: 1, stride: 2 }).sum());
    loss.backward();
    loss.dispose();
    expect(liveTensorCount() - before).toBe(2); // x.grad and w.grad
  });

  it('an empty batch gives an empty output and a zero weight gradient', async () => {
    const x = zeros([0, 3, 5, 5], { backend });
    const w = rnd([2, 3, 3, 3], 10, backend);
    w.requiresGrad = true;
    const y = conv2d(x, w, null, { padding: 1 });
    expect(y.shape).toEqual([0, 2, 5, 5]);
    y.sum().backward();
    expect(Array.from(await w.grad!.data())).toEqual(new Array<number>(54).fill(0));
  });
});

describe('conv2d gradients (float64 finite differences)', () => {
  const CHECKS: [string, number[], number[], Conv2dOptions][] = [
    ['stride 2, padding 1', [2, 2, 5, 5], [3, 2, 3, 3], { stride: 2, padding: 1 }],
    ['per-dim stride/padding/dilation, groups 2', [1, 4, 6, 5], [4, 2, 2, 3], { stride: [1, 2], padding: [2, 1], dilation: [2, 1], groups: 2 }],
    ['1x1 pointwise', [2, 3, 3, 2], [2, 3, 1, 1], {}],
    ['dilation 2, depthwise', [1, 3, 6, 6], [3, 1, 3, 3], { dilation: 2, padding: 2, groups: 3 }],
  ];
  it.each(CHECKS)('%s', (_name, xs, ws, o) => {
    const x = rnd(xs, 11, 'cpu', 'float64');
    const w = rnd(ws, 12, 'cpu', 'float64');
    const b = rnd([ws[0]], 13, 'cpu', 'float64');
    const r = gradcheck((a, k, c) => conv2d(a, k, c, o), [x, w, b]);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('conv2d argument checks', () => {
  const x = zeros([1, 4, 5, 5]);
  it('rejects mismatched channels, groups and bias with ShapeError', () => {
    expect(() => conv2d(x, zeros([2, 3, 3, 3]))).toThrow(ShapeError);
    expect(() => conv2d(x, zeros([3, 2, 3, 3]), null, { groups: 2 })).toThrow(/divisible by groups/);
    expect(() => conv2d(x, zeros([2, 4, 3, 3]), zeros([3]))).toThrow(ShapeError);
    expect(() => conv2d(zeros([4, 5, 5]).reshape([1, 100]), zeros([2, 4, 3, 3]))).toThrow(ShapeError);
  });
  it('rejects a kernel larger than the padded input', () => {
    expect(() => conv2d(x, zeros([2, 4, 7, 7]), null, { padding: 0 })).toThrow(/smaller than the dilated kernel/);
  });
  it('rejects bad stride, padding, dilation and groups with SpatialOptionError', () => {
    const w = zeros([2, 4, 3, 3]);
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(SpatialOptionError);
    expect(() => conv2d(x, w, null, { padding: -1 })).toThrow(SpatialOptionError);
    expect(() => conv2d(x, w, null, { dilation: [1, 1.5] as [number, number] })).toThrow(SpatialOptionError);
    expect(() => conv2d(x, w, null, { groups: 0 })).toThrow(SpatialOptionError);
  });
});
