/**
 * HIPIE components on every backend against values worked out by hand or direct loops: sine embeddings (2x3 map),
 * the query sine embedding, proposals, inverse sigmoid, GroupNorm of the input projection, aligned bilinear, the
 * dynamic mask convolutions, shapes of the encoder / decoder layers, and config errors.
 */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import { GroupNorm, manualSeed, noGrad, randn, tensor } from '@segllm/tensor';
import {
  HIPIE_R50, HipieConfigError, MSDeformAttn, alignedBilinear, dynamicMaskLogits, dynamicParamSizes, encoderProposals, encoderReferencePoints,
  inverseSigmoid, parseHipieConfig, querySineEmbedding, sinePositionEmbedding,
} from '../src/index.ts';
import { tinyRandomConfig } from './hipie-fixtures.ts';

const near = (a: ArrayLike<number>, b: ArrayLike<number>, atol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(atol);
};

describe('HIPIE config', () => {
  it('has the released sizes (169 dynamic parameters) and derives tiny ones from metadata', () => {
    expect(dynamicParamSizes(HIPIE_R50)).toEqual({ weights: [80, 64, 8], biases: [8, 8, 1], total: 169 });
    const c = parseHipieConfig({ hidden_dim: 64, nheads: 8, prior_prob: 0.01 });
    expect(c.mask_in_channels).toBe(2);
    expect(c.query_sine_feats_per_coord).toBe(32);
    expect(dynamicParamSizes(c).total).toBe(121);
  });
  it('rejects sizes that do not fit, saying which field', () => {
    expect(() => parseHipieConfig({ hidden_dim: 64, nheads: 5 })).toThrow(HipieConfigError);
    expect(() => parseHipieConfig({ num_vl_layers: 7 })).toThrow(/num_vl_layers/);
    expect(() => parseHipieConfig({ hidden_dim: '256' })).toThrow(/hidden_dim/);
  });
});

describe.each(await availableBackends())('HIPIE components on %s', (backend) => {
  it('sine position embedding of a 2x3 map matches the values worked out by hand', async () => {
    // F = 4 features per axis: dim_t = [1, 1, 100, 100]; y = (i + 0.5) / 2 * 2 pi = pi/2, 3pi/2; x = pi/3, pi, 5pi/3.
    const pe = sinePositionEmbedding(2, 3, 4, { backend });
    expect(pe.shape).toEqual([1, 8, 2, 3]);
    const P = Math.PI;
    const ys = [P / 2, (3 * P) / 2];
    const xs = [P / 3, P, (5 * P) / 3];
    const want: number[] = [];
    const chan = (v: number) => [Math.sin(v), Math.cos(v), Math.sin(v / 100), Math.cos(v / 100)];
    for (let c = 0; c < 4; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push(chan(ys[i])[c]);
    for (let c = 0; c < 4; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push(chan(xs[j])[c]);
    // spot values: sin(pi/2) = 1, cos(3pi/2) = 0, sin(pi/3) = sqrt(3)/2, cos(pi) = -1
    expect(want.slice(0, 3)).toEqual([1, 1, 1]);
    near(await pe.data(), want, 2e-6);
    pe.dispose();
  });

  it('query sine embedding orders y, x, w, h with interleaved sin/cos', async () => {
    const box = tensor([[[0.25, 0.5, 0.125, 1]]], { backend }); // cx, cy, w, h
    const e = querySineEmbedding(box, 4);
    expect(e.shape).toEqual([1, 1, 16]);
    const f = (v: number) => [Math.sin(2 * Math.PI * v), Math.cos(2 * Math.PI * v), Math.sin((2 * Math.PI * v) / 100), Math.cos((2 * Math.PI * v) / 100)];
    near(await e.data(), [...f(0.5), ...f(0.25), ...f(0.125), ...f(1)], 2e-6);
    box.dispose();
    e.dispose();
  });

  it('proposals: cell centres, 0.05 * 2^level, logits, +inf outside (0.01, 0.99)', async () => {
    const p = encoderProposals([[2, 2], [1, 1], [1, 100]], backend);
    const d = await p.logits.data();
    const logit = (v: number) => Math.log(v / (1 - v));
    near(d.slice(0, 4), [logit(0.25), logit(0.25), logit(0.05), logit(0.05)], 1e-6);
    near(d.slice(16, 20), [0, 0, logit(0.1), logit(0.1)], 1e-6);
    // level 2 of width 100: x centre 0.005 is below 0.01 -> invalid; the next one (0.015) is valid
    expect(Array.from(d.slice(20, 24))).toEqual([Infinity, Infinity, Infinity, Infinity]);
    near(d.slice(24, 28), [logit(0.015), logit(0.5), logit(0.2), logit(0.2)], 1e-5);
    expect(Array.from(await p.valid.data()).slice(0, 7)).toEqual([1, 1, 1, 1, 1, 0, 1]);
    p.logits.dispose();
    p.valid.dispose();
  });

  it('encoder reference points are the cell centres, repeated per level', async () => {
    const r = encoderReferencePoints([[1, 2], [1, 1]], backend);
    expect(r.shape).toEqual([1, 3, 2, 2]);
    expect(Array.from(await r.data())).toEqual([0.25, 0.5, 0.25, 0.5, 0.75, 0.5, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5]);
    r.dispose();
  });

  it('inverse sigmoid clamps to [0, 1] and eps 1e-5', async () => {
    const x = tensor([0, 0.5, 0.75, 1, 1.5, -1], { backend });
    const y = inverseSigmoid(x);
    const l = Math.log(1e-5);
    near(await y.data(), [l, 0, Math.log(3), -l, -l, l], 1e-4);
    x.dispose();
    y.dispose();
  });

  it('GroupNorm (input projection) matches the per-group formula', async () => {
    manualSeed(3);
    const x = randn([1, 8, 3, 2], { backend });
    const gn = new GroupNorm(4, 8, 1e-5, { backend });
    const y = noGrad(() => gn.forward(x));
    const xs = await x.data();
    const want = new Float64Array(48);
    for (let g = 0; g < 4; g++) {
      const vals = Array.from(xs.slice(g * 12, g * 12 + 12));
      const m = vals.reduce((a, b) => a + b, 0) / 12;
      const v = vals.reduce((a, b) => a + (b - m) ** 2, 0) / 12;
      vals.forEach((u, i) => (want[g * 12 + i] = (u - m) / Math.sqrt(v + 1e-5)));
    }
    near(await y.data(), want, 1e-5);
    for (const t of [x, y]) t.dispose();
    gn.dispose();
  });

  it('aligned bilinear x2 matches its definition', async () => {
    manualSeed(4);
    const [h, w] = [3, 4];
    const x = randn([2, 1, h, w], { backend });
    const y = alignedBilinear(x, 2);
    expect(y.shape).toEqual([2, 1, 6, 8]);
    const xs = await x.data();
    // out[i][j] = bilinear sample (align_corners, replicate edges) of x at (max(i - 1, 0) / 2, max(j - 1, 0) / 2)
    const at = (n: number, r: number, c: number) => xs[n * h * w + Math.min(r, h - 1) * w + Math.min(c, w - 1)];
    const want: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 8; j++) {
          const sy = Math.max(i - 1, 0) / 2;
          const sx = Math.max(j - 1, 0) / 2;
          const y0 = Math.floor(sy);
          const x0 = Math.floor(sx);
          const ty = sy - y0;
          const tx = sx - x0;
          want.push((1 - ty) * ((1 - tx) * at(n, y0, x0) + tx * at(n, y0, x0 + 1)) + ty * ((1 - tx) * at(n, y0 + 1, x0) + tx * at(n, y0 + 1, x0 + 1)));
        }
      }
    }
    near(await y.data(), want, 1e-6);
    x.dispose();
    y.dispose();
  });

  it('dynamic mask convolutions match direct loops (relative coords in pixels, 10 -> 8 -> 8 -> 1 shape at hidden 32)', async () => {
    const c = tinyRandomConfig();
    const { weights, biases, total } = dynamicParamSizes(c);
    expect(weights[0]).toBe((c.mask_in_channels + 2) * 8);
    manualSeed(5);
    const [H, W, Q, Cm] = [3, 2, 2, c.mask_in_channels];
    const feats = randn([1, Cm, H, W], { backend });
    const ref = tensor([[10, 4], [3, 20]], { backend }); // (x, y) pixels
    const params = randn([Q, total], { backend }).mul(0.3);
    const y = dynamicMaskLogits(feats, ref, params, c); // [Q, 1, 2H, 2W]
    expect(y.shape).toEqual([Q, 1, 2 * H, 2 * W]);
    // the stride-8 logits before upsampling, by direct loops, then aligned bilinear (checked above) on them
    const f = await feats.data();
    const p = await params.data();
    const r = await ref.data();
    const coarse: number[] = [];
    for (let q = 0; q < Q; q++) {
      const P = Array.from(p.slice(q * total, (q + 1) * total));
      let off = 0;
      const take = (n: number) => P.slice(off, (off += n));
      const [w0, w1, w2, b0, b1, b2] = [take(weights[0]), take(weights[1]), take(weights[2]), take(biases[0]), take(biases[1]), take(biases[2])];
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const input = [r[2 * q] - (8 * j + 4), r[2 * q + 1] - (8 * i + 4), ...Array.from({ length: Cm }, (_, k) => f[(k * H + i) * W + j])];
          const l1 = Array.from({ length: 8 }, (_, o) => Math.max(0, b0[o] + input.reduce((s, v, k) => s + w0[o * input.length + k] * v, 0)));
          const l2 = Array.from({ length: 8 }, (_, o) => Math.max(0, b1[o] + l1.reduce((s, v, k) => s + w1[o * 8 + k] * v, 0)));
          coarse.push(b2[0] + l2.reduce((s, v, k) => s + w2[k] * v, 0));
        }
      }
    }
    const ct = tensor(coarse, { shape: [Q, 1, H, W], backend });
    const want = alignedBilinear(ct, 2);
    near(await y.data(), await want.data(), 1e-4);
    for (const t of [feats, ref, params, y, ct, want]) t.dispose();
  });

  it('MSDeformAttn keeps shapes with 2-D and 4-D references', () => {
    manualSeed(6);
    const m = new MSDeformAttn(16, 2, 2, 3, { backend });
    const shapes: [number, number][] = [[4, 4], [2, 2]];
    const x = randn([1, 20, 16], { backend });
    const q = randn([1, 5, 16], { backend });
    const r2 = tensor(Array.from({ length: 5 * 2 * 2 }, (_, i) => (i % 7) / 7), { shape: [1, 5, 2, 2], backend });
    const r4 = tensor(Array.from({ length: 5 * 2 * 4 }, (_, i) => 0.1 + (i % 5) / 6), { shape: [1, 5, 2, 4], backend });
    const a = noGrad(() => m.forward(q, r2, x, shapes));
    const b = noGrad(() => m.forward(q, r4, x, shapes));
    expect(a.shape).toEqual([1, 5, 16]);
    expect(b.shape).toEqual([1, 5, 16]);
    for (const t of [x, q, r2, r4, a, b]) t.dispose();
    m.dispose();
  });
});
