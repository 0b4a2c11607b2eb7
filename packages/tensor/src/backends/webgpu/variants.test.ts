/**
 * WebGPU kernel variants chosen by adapter features and shapes, each against the CPU: subgroup reductions and their
 * workgroup-memory fallback (reduce, norms, attention), split-K matmul in every layout tier, split-K decode attention
 * (flash-decoding), vec4 elementwise, the half-precision scatter backwards, and cached bind groups. Every variant a
 * kernel records must have run in a passing case (checked last). Skipped loudly without an adapter (webgpu.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import type { Tensor } from '../../tensor.ts';
import { tensor } from '../../tensor.ts';
import * as ops from '../../ops/index.ts';
import { UNARY, BINARY, type UnaryName, type BinaryName } from '../../ops/elementwise/table.ts';
import { consistent, type InputSpec } from './consistency.ts';
import { bindingsOf } from './runtime.ts';
import { sgMatrixGemmWgsl, subgroupMatrixConfig } from './kernels/sgmatrix.ts';
import { BCAST, bcastTile } from './kernels/matmul-bcast.ts';
import { GEMM_ATTN } from './kernels/attention-gemm.ts';
import { SMEM } from './kernels/matmul-smem.ts';

const hasGpu = (await availableBackends()).includes('webgpu');
const { rt, initWebGPU, shutdownWebGPU } = await import('./backend.ts');
const hasSubgroups = hasGpu && rt().features.has('subgroups');
const seen = new Set<string>();
const hasBcast = hasGpu && bcastTile() !== null;

type Case = [name: string, specs: InputSpec[], f: (xs: Tensor[]) => Tensor | Tensor[], tol?: { rtol?: number; atol?: number }];

/** Runs a case with subgroups on (when the adapter has them) and forced off; records the variants that ran. */
async function check([, specs, f, tol]: Case, modes: boolean[] = hasSubgroups ? [true, false] : [false]): Promise<void> {
  const r = rt();
  const was = r.useSubgroups;
  try {
    for (const sg of modes) {
      r.useSubgroups = sg;
      r.variants.clear();
      const res = await consistent(specs, f, tol);
      expect(res.ok, `${sg ? 'subgroups' : 'workgroup memory'}: ${res.detail}`).toBe(true);
      for (const v of r.variants) seen.add(v);
    }
  } finally {
    r.useSubgroups = was;
  }
}

const NAN_ROWS = [1, NaN, -Infinity, 3, 2, 0, -1, NaN, 3, 7, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, 5];

const REDUCE: Case[] = [
  ['sum/prod/max/min over long rows', [{ shape: [3, 200], grad: true }], ([x]) => [x.sum(1), x.max(1), x.min(0), x.mul(0.1).exp().prod(1), x.sum()]],
  ['argmax/argmin with ties', [{ shape: [5, 150], kind: 'int' }], ([x]) => [x.argmax(1), x.argmin(1), x.argmax(0), x.argmin()]],
  ['NaN and -inf rows', [{ shape: [2, 8], kind: NAN_ROWS }], ([x]) => [x.max(1), x.min(1), x.argmax(1), x.argmin(1), x.sum(1)]],
  ['all -inf row argmax', [{ shape: [1, 70], kind: Array.from({ length: 70 }, () => -Infinity) }], ([x]) => [x.argmax(1), x.max(1)]],
  ['int32', [{ shape: [4, 90], dtype: 'int32', kind: 'int' }], ([x]) => [x.sum(1), x.max(1), x.min(0), x.argmax(1), x.argmin(0)]],
  ['softmax and log-softmax rows', [{ shape: [6, 130], grad: true }], ([x]) => [ops.softmax(x, -1), ops.logSoftmax(x, 0)]],
];

const NORM: Case[] = [
  ['layer/rms norm', [{ shape: [3, 5, 150], grad: true }, { shape: [150], grad: true }, { shape: [150], grad: true }], ([x, w, b]) => [ops.layerNorm(x, [150], w, b), ops.rmsNorm(x, w)], { atol: 1e-4 }],
  ['group norm', [{ shape: [2, 6, 5, 5], grad: true }], ([x]) => ops.groupNorm(x, 3), { atol: 1e-4 }],
];

const causalMask = (tq: number, tk: number) => Array.from({ length: tq * tk }, (_, i) => (Math.floor(i / tk) === 0 ? 0 : i % 5 === 2 || i % tk > 520 ? 0 : 1));

const ATTN: Case[] = [
  ['sdpa rows (short prefix)', [{ shape: [2, 4, 5, 8], grad: true }, { shape: [2, 2, 70, 8], grad: true }, { shape: [2, 2, 70, 6], grad: true }], ([q, k, v]) => [
    ops.scaledDotProductAttention(q, k, v),
    ops.scaledDotProductAttention(q, k, v, { isCausal: true }),
  ], { atol: 1e-4 }],
  // grouped heads (4 query heads on 2 kv heads), bottom-right causal alignment over 600 keys: 3 chunks
  ['sdpa split decode, causal GQA', [{ shape: [1, 4, 3, 16], grad: true }, { shape: [1, 2, 600, 16], grad: true }, { shape: [1, 2, 600, 8], grad: true }], ([q, k, v]) =>
    ops.scaledDotProductAttention(q, k, v, { isCausal: true }), { atol: 1e-4 }],
  ['sdpa split decode, one row, 1030 keys', [{ shape: [2, 2, 1, 8] }, { shape: [2, 2, 1030, 8] }, { shape: [2, 2, 1030, 12] }], ([q, k, v]) =>
    ops.scaledDotProductAttention(q, k, v), { atol: 1e-5 }],
  // row 0 sees no key (NaN, as on the CPU); row 1 has whole chunks masked out
  ['sdpa split decode, masked chunks and an empty row', [{ shape: [1, 2, 2, 8] }, { shape: [1, 1, 700, 8] }, { shape: [1, 1, 700, 8] }, { shape: [1, 1, 2, 700], dtype: 'bool', kind: causalMask(2, 700) }], ([q, k, v, m]) =>
    ops.scaledDotProductAttention(q, k, v, { mask: m }), { atol: 1e-5 }],
  ['sdpa split decode, float16', [{ shape: [1, 2, 2, 8] }, { shape: [1, 2, 800, 8] }, { shape: [1, 2, 800, 8] }], ([q, k, v]) =>
    ops.scaledDotProductAttention(q.to('float16'), k.to('float16'), v.to('float16'), { isCausal: true }).to('float32'), { rtol: 2e-3, atol: 2e-3 }],
];

// The tiled prefill kernel (kernels/attention-tiled.ts: blocks of 64 query rows, 32 keys per tile, 16 when D + Dv > 128)
const TILED: Case[] = [
  // (the backward is composed of other ops, checked elsewhere; head dims shared so the cases share compiled shaders)
  ['sdpa tiled: causal GQA, two query blocks', [{ shape: [1, 4, 70, 8] }, { shape: [1, 2, 70, 8] }, { shape: [1, 2, 70, 8] }], ([q, k, v]) => [
    ops.scaledDotProductAttention(q, k, v, { isCausal: true }),
    ops.scaledDotProductAttention(q, k, v),
  ], { atol: 1e-4 }],
  // Tq < Tk: bottom-right alignment over a cached prefix; an additive mask broadcast over heads; scale
  ['sdpa tiled: causal over a longer prefix, additive mask, scale', [{ shape: [2, 2, 9, 8] }, { shape: [2, 2, 45, 8] }, { shape: [2, 2, 45, 8] }, { shape: [2, 1, 9, 45], kind: 'unit' }], ([q, k, v, m]) => [
    ops.scaledDotProductAttention(q, k, v, { isCausal: true, scale: 0.3 }),
    ops.scaledDotProductAttention(q, k, v, { mask: m.mul(-3) }),
  ], { atol: 1e-5 }],
  // boolean mask with fully masked rows (NaN, as on the CPU) and whole masked tiles; Tq > Tk causal: early rows see no key
  ['sdpa tiled: masked rows and tiles, Tq > Tk causal', [{ shape: [1, 2, 10, 8] }, { shape: [1, 1, 80, 8] }, { shape: [1, 1, 80, 8] }, { shape: [1, 1, 10, 80], dtype: 'bool', kind: causalMask(10, 80) }, { shape: [1, 1, 6, 8] }], ([q, k, v, m, k2]) => [
    ops.scaledDotProductAttention(q, k, v, { mask: m }),
    ops.scaledDotProductAttention(q, k2, k2, { isCausal: true }),
  ], { atol: 1e-5 }],
  ['sdpa tiled: D + Dv > 128 (16-key tiles), float16', [{ shape: [1, 1, 20, 72] }, { shape: [1, 1, 50, 72] }, { shape: [1, 1, 50, 64] }], ([q, k, v]) => [
    ops.scaledDotProductAttention(q, k, v, { isCausal: true }),
    ops.scaledDotProductAttention(q.to('float16'), k.to('float16'), v.to('float16')).to('float32'),
  ], { rtol: 2e-3, atol: 2e-3 }],
];

const TILED_CHUNKED: Case = ['', [{ shape: [2, 4, 12, 8] }, { shape: [2, 2, 30, 8] }, { shape: [2, 2, 30, 4] }], ([q, k, v]) =>
  [ops.scaledDotProductAttention(q, k, v, { isCausal: true }), ops.scaledDotProductAttention(q, k, v)], { atol: 1e-5 }];

const SPLITK: Case[] = [
  ['split-K tiled NN (M 8, K 4096)', [{ shape: [8, 4096], grad: true }, { shape: [4096, 16], grad: true }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['split-K tiled NT (linear, M 8)', [{ shape: [8, 4096] }, { shape: [16, 4096] }], ([a, w]) => ops.linear(a, w), { atol: 1e-4 }],
  ['split-K tiled, scalar layout (K 4097), batched', [{ shape: [2, 8, 4097] }, { shape: [4097, 5] }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['split-K GEMV NN and NT', [{ shape: [2, 4096] }, { shape: [4096, 12] }, { shape: [20, 4096] }], ([a, b, w]) => [a.matmul(b), ops.linear(a, w)], { atol: 1e-4 }],
  ['split-K batched NN (batch 2, M 6)', [{ shape: [2, 6, 4096] }, { shape: [4096, 12] }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['split-K bfloat16', [{ shape: [4, 4096] }, { shape: [4096, 8] }], ([a, b]) => a.to('bfloat16').matmul(b.to('bfloat16')).to('float32'), { rtol: 1e-2, atol: 1e-2 }],
];

// The broadcast GEMM of CPU adapters with subgroups (kernels/matmul-bcast.ts: 32 x 32 output tiles per workgroup,
// K in steps of the subgroup size): whole and partial tiles, K tails, B read as vec4 along N or K or as scalars,
// batches with broadcasting, half precision, gradients (which multiply by transposed views).
const BCAST_CASES: Case[] = [
  ['bcast GEMM NN, whole tiles, gradients', [{ shape: [64, 40], grad: true }, { shape: [40, 64], grad: true }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['bcast GEMM NN, partial tiles and a K tail', [{ shape: [33, 37], grad: true }, { shape: [37, 20], grad: true }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['bcast GEMM NT (linear with bias)', [{ shape: [30, 44], grad: true }, { shape: [36, 44], grad: true }, { shape: [36], grad: true }], ([x, w, b]) => ops.linear(x, w, b), { atol: 1e-4 }],
  ['bcast GEMM scalar layout (transposed A, N 21)', [{ shape: [37, 33] }, { shape: [37, 21] }], ([a, b]) => a.transpose(0, 1).matmul(b), { atol: 1e-4 }],
  ['bcast GEMM batched with broadcasting', [{ shape: [2, 3, 17, 12], grad: true }, { shape: [3, 12, 8], grad: true }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['bcast GEMM float16 and bfloat16', [{ shape: [40, 24] }, { shape: [24, 36] }], ([a, b]) => [
    a.to('float16').matmul(b.to('float16')).to('float32'),
    a.to('bfloat16').matmul(b.to('bfloat16')).to('float32'),
  ], { rtol: 1e-2, atol: 1e-2 }],
  // conv2d as the broadcast GEMM with im2col loads (kernels/conv-bcast.ts): groups, stride, padding, dilation, bias,
  // partial tiles (10 channels per group: 16-row subgroup tiles; 6 in the float16 case: 8 rows) and a K tail (27)
  ['bcast conv2d', [{ shape: [2, 6, 11, 13], grad: true }, { shape: [20, 3, 3, 3], grad: true }, { shape: [20], grad: true }], ([x, w, b]) =>
    ops.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }), { atol: 1e-4 }],
  ['bcast conv2d float16', [{ shape: [1, 4, 6, 7] }, { shape: [6, 4, 3, 3] }], ([x, w]) =>
    ops.conv2d(x.to('float16'), w.to('float16'), null, { padding: 1 }).to('float32'), { rtol: 1e-2, atol: 1e-2 }],
];

// The fused bias/activation epilogue (matmul_bias_act, ops/matmul/linear.ts) in every matmul tier: GEMV (M <= 4),
// broadcast / register-tiled GEMM (subgroups on / off), split-K (the epilogue runs in the summing pass), half precision
const EPILOGUE: Case[] = [
  ['epilogue GEMV NT, bias + gelu_tanh', [{ shape: [3, 24], grad: true }, { shape: [20, 24], grad: true }, { shape: [20], grad: true }], ([x, w, b]) =>
    ops.linear(x, w, b, { activation: 'gelu_tanh' }), { atol: 1e-4 }],
  ['epilogue GEMM NT and a transposed input, bias + quick_gelu / relu', [{ shape: [37, 20], grad: true }, { shape: [44, 20], grad: true }, { shape: [44], grad: true }, { shape: [20, 33] }], ([x, w, b, xt]) => [
    ops.linear(x, w, b, { activation: 'quick_gelu' }),
    ops.linear(xt.transpose(0, 1), w, b, { activation: 'relu' }),
  ], { atol: 1e-4 }],
  ['epilogue split-K (M 8, K 4096) and split-K GEMV, bias + silu', [{ shape: [8, 4096] }, { shape: [16, 4096] }, { shape: [16] }], ([x, w, b]) => [
    ops.linear(x, w, b, { activation: 'silu' }),
    ops.linear(x.narrow(0, 0, 2), w, b, { activation: 'gelu' }),
  ], { atol: 1e-4 }],
  ['epilogue float16 and bfloat16', [{ shape: [12, 16] }, { shape: [8, 16] }, { shape: [8] }], ([x, w, b]) => [
    ops.linear(x.to('float16'), w.to('float16'), b.to('float16'), { activation: 'gelu' }).to('float32'),
    ops.linear(x.to('bfloat16'), w.to('bfloat16'), b.to('bfloat16'), { activation: 'silu' }).to('float32'),
  ], { rtol: 1e-2, atol: 1e-2 }],
];

// The shared-memory tiled GEMM of GPU adapters (kernels/matmul-smem.ts), forced here on the CPU adapter: 64 x 64
// tiles (128 x 128 with SMEM.bigAt lowered), partial tiles and K tails, NN / NT / strided loads, batches, split-K,
// half precision, the epilogue
const SMEM_CASES: Case[] = [
  ['smem GEMM NN, partial tiles, K tail', [{ shape: [70, 37] }, { shape: [37, 81] }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['smem GEMM NT and transposed A, epilogue', [{ shape: [33, 40] }, { shape: [65, 40] }, { shape: [65] }, { shape: [40, 20] }], ([x, w, bias, xt]) => [
    ops.linear(x, w, bias, { activation: 'gelu' }),
    xt.transpose(0, 1).matmul(w.transpose(0, 1)),
  ], { atol: 1e-4 }],
  ['smem GEMM batched with broadcasting, float16', [{ shape: [2, 3, 17, 12] }, { shape: [3, 12, 8] }], ([a, b]) => a.to('float16').matmul(b.to('float16')).to('float32'), { rtol: 2e-3, atol: 2e-3 }],
  ['smem GEMM split-K (M 8, K 4096)', [{ shape: [8, 4096] }, { shape: [4096, 16] }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
];

function vec4Cases(): Case[] {
  const unary = Object.keys(UNARY) as UnaryName[];
  const binary = Object.keys(BINARY) as BinaryName[];
  const POS = new Set<string>(['log', 'sqrt', 'rsqrt', 'pow_scalar', 'log1p', 'reciprocal']);
  return [
    ['vec4 unary (every op)', [{ shape: [4, 8], kind: 'positive' }, { shape: [4, 8] }], ([p, x]) => unary.map((n) => ops.unary(n, POS.has(n) ? p : x, 0.3, 0.9))],
    ['vec4 binary (every op) and a scalar operand', [{ shape: [2, 12], kind: 'positive' }, { shape: [2, 12], kind: 'positive' }], ([a, b]) => [
      ...binary.map((n) => ops.binary(n, a, b)),
      a.add(2.5),
      a.mul(b.narrow(1, 4, 1)),
    ]],
    ['vec4 int32 and bool', [{ shape: [16], dtype: 'int32', kind: 'int' }, { shape: [16], dtype: 'int32', kind: 'int' }], ([a, b]) => [a.add(b), a.mul(b), a.gt(b), a.maximum(b), a.neg(), a.eq(b).logicalNot()]],
    ['vec4 where and copies', [{ shape: [3, 8], kind: 'bool', dtype: 'bool' }, { shape: [3, 8], grad: true }, { shape: [3, 8], grad: true }], ([c, a, b]) => [
      ops.where(c, a, b),
      a.to('float16').to('float32'),
      a.to('bfloat16').to('float32'),
      a.mul(50).to('int32'),
      a.gt(0).to('uint8'),
      a.narrow(1, 4, 4).contiguous(),
      a.narrow(1, 1, 4).contiguous(), // offset 1: scalar path
    ]],
    ['vec4 float16 arithmetic', [{ shape: [4, 8] }, { shape: [4, 8] }], ([a, b]) => a.to('float16').mul(b.to('float16')).exp().to('float32'), { rtol: 2e-3, atol: 2e-3 }],
    ['vec4 gradients (elementwise backward chains)', [{ shape: [8, 4], grad: true }, { shape: [8, 4], grad: true }], ([a, b]) => a.mul(b).tanh().add(a.sigmoid())],
  ];
}

const HALF_SCATTER: Case[] = [
  ['interpolate backward float16', [{ shape: [1, 2, 5, 6], grad: true, dtype: 'float16' }], ([x]) => ops.interpolate(x, { size: [9, 4], mode: 'bilinear' }), { rtol: 1e-2, atol: 1e-2 }],
  ['grid_sample backward bfloat16', [{ shape: [1, 2, 5, 6], grad: true, dtype: 'bfloat16' }, { shape: [1, 4, 3, 2], grad: true, kind: 'unit', dtype: 'bfloat16' }], ([x, g]) =>
    ops.gridSample(x, g.mul(2.4).sub(1.2)), { rtol: 3e-2, atol: 3e-2 }],
  ['ms_deform_attn backward float16', [{ shape: [2, 20 + 6, 2, 4], grad: true, dtype: 'float16' }, { shape: [2, 3, 2, 2, 3, 2], grad: true, kind: 'unit', dtype: 'float16' }, { shape: [2, 3, 2, 2, 3], grad: true, kind: 'unit', dtype: 'float16' }],
    ([v, loc, aw]) => ops.msDeformAttn(v, [[4, 5], [2, 3]], loc.mul(1.2).sub(0.1), aw), { rtol: 1e-2, atol: 1e-2 }],
];

describe.skipIf(!hasGpu)('webgpu kernel variants vs cpu', () => {
  describe('subgroup reductions and the workgroup-memory fallback', () => {
    it.each([...REDUCE, ...NORM].map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c));
  });
  describe('attention: rows and split-K decode', () => {
    it.each(ATTN.map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c));
  });
  // subgroups on: the GEMM form on CPU adapters with the broadcast GEMM (kernels/attention-gemm.ts); off: tiled
  describe('attention: tiled prefill and the GEMM form', () => {
    it.each(TILED.map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c));
    it('GEMM form in chunks of one (batch, kv head) unit', async () => {
      const was = GEMM_ATTN.budget;
      GEMM_ATTN.budget = 2 * 12 * 30; // G * Tq * Tk
      try {
        await check(TILED_CHUNKED, [rt().useSubgroups]);
      } finally {
        GEMM_ATTN.budget = was;
      }
    });
  });
  describe('split-K matmul', () => {
    // subgroups on: the broadcast GEMM on CPU adapters; off: the register-tiled GEMM
    it.each(SPLITK.map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c));
    it('GPU-style GEMV (workgroup per column) split over K', async () => {
      const was = rt().cpuAdapter;
      rt().cpuAdapter = false;
      try {
        await check(['', [{ shape: [3, 4096] }, { shape: [24, 4096] }], ([a, w]) => ops.linear(a, w), { atol: 1e-4 }], [rt().useSubgroups]);
      } finally {
        rt().cpuAdapter = was;
      }
    });
  });
  it('split-K over a weight split across buffers (lm_head chunks fill their column ranges)', async () => {
    const { setChunkLimitForTesting } = await import('./backend.ts');
    const [V, K] = [40, 4096];
    const wv = Array.from({ length: V * K }, (_, i) => Math.sin(i * 0.37));
    const xv = Array.from({ length: 3 * K }, (_, i) => Math.cos(i * 0.3));
    const ref = await ops.linear(tensor(xv, { shape: [3, K] }), tensor(wv, { shape: [V, K] })).data();
    setChunkLimitForTesting(16 * K * 4);
    try {
      rt().variants.clear();
      const w = tensor(wv, { shape: [V, K], backend: 'webgpu' });
      const x = tensor(xv, { shape: [3, K], backend: 'webgpu' });
      const y = ops.linear(x, w);
      const got = await y.data();
      expect((w.storage as { chunks?: unknown[] }).chunks?.length).toBe(3);
      expect(rt().variants.has('matmul:splitk-gemv-nt')).toBe(true);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
      expect(worst).toBeLessThan(1e-3);
      for (const t of [w, x, y]) t.dispose();
    } finally {
      setChunkLimitForTesting(null);
    }
  });

  describe('matmul tiers: the broadcast GEMM (CPU adapters with subgroups) and the register-tiled GEMM', () => {
    it.each(BCAST_CASES.map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c));
    it('broadcast GEMM reading A as vec4 along K (BCAST.aVec, off by default: slower on lavapipe)', async () => {
      BCAST.aVec = true;
      try {
        for (const c of [BCAST_CASES[0], BCAST_CASES[1]]) await check(c, [rt().useSubgroups]);
      } finally {
        BCAST.aVec = false;
      }
    });
  });
  describe('matmul: the shared-memory tiled GEMM of GPU adapters', () => {
    const gpuStyle = async (c: Case, bigAt?: number) => {
      const was = [rt().cpuAdapter, SMEM.bigAt] as const;
      rt().cpuAdapter = false;
      if (bigAt) SMEM.bigAt = bigAt;
      try {
        await check(c, [rt().useSubgroups]);
      } finally {
        [rt().cpuAdapter, SMEM.bigAt] = was;
      }
    };
    it.each(SMEM_CASES.map((c) => [c[0], c] as const))('%s', async (_n, c) => gpuStyle(c));
    it('128 x 128 tiles', async () => gpuStyle(SMEM_CASES[0], 64));
  });
  describe('matmul fused bias/activation epilogue in every tier', () => {
    it.each(EPILOGUE.map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c));
  });
  describe('vec4 elementwise', () => {
    it.each(vec4Cases().map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c, [rt().useSubgroups]));
  });
  describe('half-precision scatter backwards (run in f32, rounded once)', () => {
    it.each(HALF_SCATTER.map((c) => [c[0], c] as const))('%s', async (_n, c) => check(c, [rt().useSubgroups]));
  });

  it('cached bind groups (dynamic uniform offsets) give the same results as fresh ones', async () => {
    const a = tensor(Array.from({ length: 64 }, (_, i) => i * 0.5), { backend: 'webgpu' });
    const outs: number[][] = [];
    for (const cached of [false, true]) {
      rt().cacheBindGroups = cached;
      let acc = a;
      for (let i = 0; i < 200; i++) {
        const next = acc.mul(0.5).add(a.narrow(0, (i * 4) % 60, 4).sum());
        if (acc !== a) acc.dispose();
        acc = next;
      }
      outs.push(Array.from(await acc.data()));
      acc.dispose();
    }
    rt().cacheBindGroups = true;
    expect(outs[1]).toEqual(outs[0]);
    a.dispose();
  });

  it('reads the bind group layout of generated shaders (null for other forms)', () => {
    const code = '@group(0) @binding(0) var<storage, read> x: array<f32>;\n@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n@group(0) @binding(2) var<uniform> u: U;';
    expect(bindingsOf(code)?.map((e) => [e.binding, e.buffer?.type, e.buffer?.hasDynamicOffset])).toEqual([
      [0, 'read-only-storage', false],
      [1, 'storage', false],
      [2, 'uniform', true],
    ]);
    expect(bindingsOf('@group(0) @binding(1) var<storage, read> x: array<f32>;')).toBeNull();
    expect(bindingsOf('@group(0) @binding(0) var t: texture_2d<f32>;')).toBeNull();
  });

  it('subgroup-matrix GEMM: off without a configuration; its WGSL parses (Dawn reports only the missing extension)', async () => {
    const r = rt();
    const hasSgm = r.features.has('chromium-experimental-subgroup-matrix');
    if (!hasSgm) expect(subgroupMatrixConfig(r)).toBeNull();
    // float16 matmul on block-aligned shapes: the subgroup-matrix kernel when configured, the SIMT tiers otherwise
    if (r.hasF16) {
      r.variants.clear();
      await check(['', [{ shape: [16, 32] }, { shape: [32, 16] }], ([a, b]) => a.to('float16').matmul(b.to('float16')).to('float32'), { rtol: 2e-3, atol: 2e-3 }], [r.useSubgroups]);
      expect(seen.has('matmul:subgroup-matrix')).toBe(subgroupMatrixConfig(r) !== null);
    }
    for (const result of ['f32', 'f16'] as const) {
      const code = sgMatrixGemmWgsl({ M: 8, N: 8, K: 8, result }, 32);
      r.device.pushErrorScope('validation');
      const mod = r.device.createShaderModule({ code });
      const info = await mod.getCompilationInfo();
      await r.device.popErrorScope();
      const errors = info.messages.filter((m) => m.type === 'error').map((m) => m.message);
      if (hasSgm) expect(errors).toEqual([]);
      else {
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(/chromium_experimental_subgroup_matrix.*not allowed/);
      }
    }
    // a syntax error is reported as such (so the check above means the rest of the module parsed)
    r.device.pushErrorScope('validation');
    const bad = r.device.createShaderModule({ code: sgMatrixGemmWgsl({ M: 8, N: 8, K: 8, result: 'f32' }, 32).replace('var acc =', 'var acc') });
    const badInfo = await bad.getCompilationInfo();
    await r.device.popErrorScope();
    expect(badInfo.messages.some((m) => m.type === 'error' && !/not allowed/.test(m.message))).toBe(true);
  });

  afterAll(async () => {
    // initWebGPU({ subgroups: false }) turns the subgroup paths off for the whole device
    shutdownWebGPU();
    const be = await initWebGPU({ subgroups: false });
    expect(be.runtime.useSubgroups).toBe(false);
    const x = tensor([3, 1, 2, 5], { shape: [2, 2], backend: 'webgpu' });
    be.runtime.variants.clear();
    expect(Array.from(await x.sum(1).data())).toEqual([4, 7]);
    expect([...be.runtime.variants]).toEqual(['reduce:workgroup']);
    x.dispose();
  });
});

describe.skipIf(!hasGpu)('webgpu variant coverage', () => {
  it('every variant ran in a passing case', () => {
    const want = [
      'reduce:workgroup', 'norm_rows:workgroup', 'sdpa:rows', 'sdpa:split', 'sdpa:tiled',
      'matmul:splitk-nn', 'matmul:splitk-nt', 'matmul:splitk-scalar', 'matmul:splitk-gemv-nn', 'matmul:splitk-gemv-nt', 'matmul:splitk-gemv-nt-wg',
      'elementwise:vec4', 'elementwise:scalar',
      'interpolate_backward:f16-via-f32', 'grid_sample_backward:f16-via-f32', 'ms_deform_attn_backward:f16-via-f32',
      'matmul:epilogue', 'matmul:smem', 'matmul:splitk-smem',
      ...(hasBcast ? ['sdpa:gemm', 'matmul:bcast-nn', 'matmul:bcast-nt', 'matmul:bcast-scalar', 'matmul:splitk-bcast', 'conv2d:bcast'] : []),
      ...(hasSubgroups ? ['reduce:subgroup', 'norm_rows:subgroup', 'sdpa:rows-subgroup', 'sdpa:split-subgroup'] : []),
    ];
    expect(want.filter((v) => !seen.has(v))).toEqual([]);
  });
});
