import { describe, expect, it } from 'vitest';
import { availableBackends } from '../testing/index.ts';
import { Generator, randn } from '../random.ts';
import { tensor } from '../tensor.ts';
import type { Tensor } from '../tensor.ts';
import '../ops/index.ts';
import { liveTensorCount } from '../memory.ts';
import { noGrad } from '../autograd/engine.ts';
import { MultiheadAttention } from './index.ts';

/** A plain-loop reference of torch.nn.MultiheadAttention (batch-first arrays [N][L][E]). */
function reference(
  q: number[][][], k: number[][][], v: number[][][], W: number[][], B: number[], Wo: number[][], Bo: number[], H: number,
  mask?: (n: number, h: number, i: number, j: number) => number,
): { out: number[][][]; weights: number[][][] } {
  const E = W[0].length;
  const hd = E / H;
  const proj = (x: number[], r0: number) => Array.from({ length: E }, (_, o) => B[r0 + o] + x.reduce((s, xi, i) => s + xi * W[r0 + o][i], 0));
  const out: number[][][] = [];
  const weights: number[][][] = [];
  for (let n = 0; n < q.length; n++) {
    const Q = q[n].map((x) => proj(x, 0));
    const K = k[n].map((x) => proj(x, E));
    const V = v[n].map((x) => proj(x, 2 * E));
    const L = Q.length;
    const S = K.length;
    const ctx = Array.from({ length: L }, () => new Array<number>(E).fill(0));
    const wAvg = Array.from({ length: L }, () => new Array<number>(S).fill(0));
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const s = Array.from({ length: S }, (_, j) => {
          let d = 0;
          for (let c = 0; c < hd; c++) d += Q[i][h * hd + c] * K[j][h * hd + c];
          return d / Math.sqrt(hd) + (mask ? mask(n, h, i, j) : 0);
        });
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        const p = e.map((x) => x / z);
        for (let j = 0; j < S; j++) {
          wAvg[i][j] += p[j] / H;
          for (let c = 0; c < hd; c++) ctx[i][h * hd + c] += p[j] * V[j][h * hd + c];
        }
      }
    }
    out.push(ctx.map((c) => Array.from({ length: E }, (_, o) => Bo[o] + c.reduce((s, ci, i) => s + ci * Wo[o][i], 0))));
    weights.push(wAvg);
  }
  return { out, weights };
}

const backends = await availableBackends();

describe.each(backends)('MultiheadAttention on %s', (backend) => {
  const E = 8;
  const H = 2;
  const setup = async (batchFirst: boolean) => {
    const g = new Generator(3);
    const mha = new MultiheadAttention(E, H, { batchFirst, backend, generator: g });
    // Non-zero biases so that they are exercised.
    mha.loadStateDict({
      in_proj_weight: mha.in_proj_weight,
      in_proj_bias: randn([3 * E], { generator: g }),
      'out_proj.weight': mha.out_proj.weight,
      'out_proj.bias': randn([E], { generator: g }),
    });
    const arr = async (t: Tensor) => (await t.toArray()) as number[][];
    return {
      mha,
      W: await arr(mha.in_proj_weight),
      B: Array.from(await mha.in_proj_bias!.data()),
      Wo: await arr(mha.out_proj.weight),
      Bo: Array.from(await mha.out_proj.bias!.data()),
      g,
    };
  };
  const close = (a: ArrayLike<number>, b: number[]) => {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i]), `element ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(1e-5);
  };

  it('has PyTorch key names', async () => {
    const { mha } = await setup(false);
    expect([...mha.stateDict().keys()]).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect(mha.in_proj_weight.shape).toEqual([24, 8]);
  });

  it('batch_first self- and cross-attention with a key padding mask match the loop reference', async () => {
    const { mha, W, B, Wo, Bo, g } = await setup(true);
    const q = randn([2, 3, E], { generator: g, backend });
    const kv = randn([2, 5, E], { generator: g, backend });
    const pad = tensor([[false, false, false, true, true], [false, false, false, false, false]], { dtype: 'bool', backend });
    const [out, w] = mha.forward(q, kv, kv, { keyPaddingMask: pad });
    const qa = (await q.toArray()) as number[][][];
    const ka = (await kv.toArray()) as number[][][];
    const ref = reference(qa, ka, ka, W, B, Wo, Bo, H, (n, _h, _i, j) => (n === 0 && j >= 3 ? -Infinity : 0));
    expect(out.shape).toEqual([2, 3, E]);
    expect(w!.shape).toEqual([2, 3, 5]);
    close(await out.data(), ref.out.flat(2));
    close(await w!.data(), ref.weights.flat(2));
    // Without weights (the fused sdpa path where the backend has it), with a 3-d per-head attn_mask as well.
    const perHead = tensor(Array.from({ length: 2 * H }, (_, b) => Array.from({ length: 3 }, (_, i) => Array.from({ length: 5 }, (_, j) => (b % 2 === 1 && j === i ? -1.5 : 0)))), { backend });
    const [out2, none] = mha.forward(q, kv, kv, { keyPaddingMask: pad, attnMask: perHead, needWeights: false });
    expect(none).toBeNull();
    const ref2 = reference(qa, ka, ka, W, B, Wo, Bo, H, (n, h, i, j) => (n === 0 && j >= 3 ? -Infinity : 0) + (h === 1 && j === i ? -1.5 : 0));
    close(await out2.data(), ref2.out.flat(2));
  });

  it('sequence-first layout with a boolean causal attn_mask, and unbatched input', async () => {
    const { mha, W, B, Wo, Bo, g } = await setup(false);
    const x = randn([4, 1, E], { generator: g, backend }); // [L, N, E]
    const causal = tensor(Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => j > i)), { dtype: 'bool', backend });
    const [out, w] = mha.forward(x, x, x, { attnMask: causal, needWeights: false });
    expect(w).toBeNull();
    const xa = ((await x.toArray()) as number[][][]).map((r) => r[0]); // [L][E]
    const ref = reference([xa], [xa], [xa], W, B, Wo, Bo, H, (_n, _h, i, j) => (j > i ? -Infinity : 0));
    expect(out.shape).toEqual([4, 1, E]);
    close(await out.data(), ref.out.flat(2));
    // Unbatched [L, E] with an additive float mask gives the same.
    const additive = tensor(Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (j > i ? -Infinity : 0))), { backend });
    const [out2, w2] = mha.forward(x.squeeze(1), x.squeeze(1), x.squeeze(1), { attnMask: additive });
    expect(out2.shape).toEqual([4, E]);
    close(await out2.data(), ref.out.flat(2));
    close(await w2!.data(), ref.weights.flat(2));
  });

  it('leaves nothing behind but its outputs', async () => {
    const { mha, g } = await setup(true);
    const x = randn([2, 3, E], { generator: g, backend });
    const before = liveTensorCount();
    // Under noGrad (with grad, autograd records keep private views until backward).
    const [out, w] = noGrad(() => mha.forward(x, x, x, { keyPaddingMask: tensor([[false, false, true], [false, false, false]], { dtype: 'bool', backend }) }));
    expect(liveTensorCount()).toBe(before + 3); // out, weights, and the mask created inline
    out.dispose();
    w!.dispose();
  });

  it('per-head weights and gradients flow to every parameter', async () => {
    const { mha, g } = await setup(true);
    const x = randn([1, 3, E], { generator: g, backend });
    const [out, w] = mha.forward(x, x, x, { averageAttnWeights: false });
    expect(w!.shape).toEqual([1, H, 3, 3]);
    out.sum().backward();
    for (const [k, p] of mha.namedParameters()) expect(p.grad?.shape, k).toEqual(p.shape);
  });
});
