/**
 * WebGPU vs CPU on random inputs, one case (or more) per registered WebGPU kernel, gradients included; plus the
 * runtime checks (buffer pool, memory stats, leak test). Skipped loudly when no adapter is found (see testing/backends).
 */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import { kernelNames } from '../../kernels.ts';
import { getBackend } from '../../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { tensor } from '../../tensor.ts';
import { tidy } from '../../memory.ts';
import { noGrad } from '../../autograd/engine.ts';
import * as ops from '../../ops/index.ts';
import { UNARY, BINARY, type UnaryName, type BinaryName } from '../../ops/elementwise/table.ts';
import { AdamW } from '../../optim/index.ts';
import { consistent, type InputSpec } from './consistency.ts';
import { backendInfo, memoryStats } from './backend.ts';
import { sizeClass } from './runtime.ts';

const hasGpu = (await availableBackends()).includes('webgpu');
const covered = new Set<string>();
/** Kernels run on WebGPU by the current case (recorded by wrapping the backend's run). */
const ranNow = new Set<string>();
if (hasGpu) {
  const be = getBackend('webgpu');
  const run = be.run.bind(be);
  be.run = (op, inputs, outputs, attrs) => {
    ranNow.add(op);
    run(op, inputs, outputs, attrs);
  };
}

type Case = [name: string, specs: InputSpec[], f: (xs: Tensor[]) => Tensor | Tensor[], tol?: { rtol?: number; atol?: number }];

const POSITIVE = new Set<string>(['log', 'sqrt', 'rsqrt', 'pow_scalar', 'log1p', 'reciprocal']);
const PARAMS: Partial<Record<UnaryName, [number, number]>> = { clamp: [-0.5, 0.7], pow_scalar: [2.5, 0], rpow_scalar: [1.7, 0], nan_to_num: [3, 0] };

function unaryCases(): Case[] {
  const cases: Case[] = [];
  for (const name of Object.keys(UNARY) as UnaryName[]) {
    const [p, q] = PARAMS[name] ?? [0, 0];
    const kind = POSITIVE.has(name) ? 'positive' : 'normal';
    const grad = !!(UNARY[name] as { vjp?: unknown }).vjp && !['sign', 'floor', 'ceil', 'round', 'relu', 'abs', 'clamp'].includes(name);
    // a transposed (non-contiguous) input
    cases.push([`unary:${name}`, [{ shape: [5, 6], kind, grad }], ([x]) => ops.unary(name, x.transpose(0, 1), p, q)]);
    if ('keepsInt' in UNARY[name]) cases.push([`unary:${name} int32`, [{ shape: [4, 5], dtype: 'int32', kind: 'int' }], ([x]) => ops.unary(name, x.sub(4), p, q)]);
  }
  return cases;
}

function binaryCases(): Case[] {
  const cases: Case[] = [];
  for (const name of Object.keys(BINARY) as BinaryName[]) {
    const pos = name === 'pow' || name === 'div' || name === 'remainder' || name === 'floor_divide';
    const grad = !!(BINARY[name] as { vjp?: unknown }).vjp && !['maximum', 'minimum', 'remainder'].includes(name);
    const spec: InputSpec[] = [
      { shape: [4, 6], kind: pos ? 'positive' : 'normal', grad },
      { shape: [6], kind: pos ? 'positive' : 'normal', grad },
    ];
    // broadcasting and a transposed operand
    cases.push([`binary:${name}`, spec, ([a, b]) => ops.binary(name, a.transpose(0, 1).transpose(0, 1), b)]);
    cases.push([`binary:${name} int32`, [{ shape: [3, 4], dtype: 'int32', kind: 'int' }, { shape: [3, 4], dtype: 'int32', kind: 'int' }], ([a, b]) => ops.binary(name, a.sub(3), b.add(1))]);
  }
  return cases;
}

const CASES: Case[] = [
  ['copy', [{ shape: [3, 4, 5] }], ([x]) => x.permute([2, 0, 1]).contiguous()],
  ['copy f32->f16->f32', [{ shape: [4, 6], grad: true }], ([x]) => x.to('float16').transpose(0, 1).to('float32')],
  ['copy f32->bf16->f32', [{ shape: [4, 6], grad: true }], ([x]) => x.to('bfloat16').to('float32')],
  ['copy f32->i32/u8/bool', [{ shape: [5, 5], kind: 'normal' }], ([x]) => [x.mul(200).to('int32'), x.mul(200).to('uint8'), x.gt(0.3).to('bool'), x.to('bool')]],
  ['copy i32->f32/u8/bool', [{ shape: [6], dtype: 'int32', kind: [-300, -1, 0, 1, 255, 70000] }], ([x]) => [x.to('float32'), x.to('uint8'), x.to('bool')]],
  ['copy into a strided view', [{ shape: [4, 6] }, { shape: [3, 4] }], ([a, b]) => {
    const c = a.clone();
    ops.copyInto(c.narrow(1, 1, 3).transpose(0, 1), b);
    return c;
  }],
  ...unaryCases(),
  ...binaryCases(),
  ['where', [{ shape: [4, 5], kind: 'bool', dtype: 'bool' }, { shape: [4, 5], grad: true }, { shape: [5], grad: true }], ([c, a, b]) => ops.where(c, a, b)],
  ['fused', [{ shape: [4, 8], grad: true }, { shape: [8], grad: true }], ([a, b]) => ops.fuse((x, y) => x.silu().mul(y).add(0.5).clamp(-1, 2).div(y.abs().add(1)))(a, b)],
  ['reduce sum', [{ shape: [3, 70, 5], grad: true }], ([x]) => [x.sum(1), x.sum([0, 2], true), x.sum()]],
  ['reduce prod', [{ shape: [4, 6], kind: 'positive', grad: true }], ([x]) => x.prod(1)],
  ['reduce max/min', [{ shape: [5, 130], grad: true }], ([x]) => [x.max(1), x.min(0), x.transpose(0, 1).max(0)]],
  ['reduce argmax/argmin', [{ shape: [6, 40], kind: 'int' }], ([x]) => [x.argmax(1), x.argmin(0), x.argmax()]],
  ['reduce int32 sum/max', [{ shape: [4, 9], dtype: 'int32', kind: 'int' }], ([x]) => [x.sum(1), x.max(0), x.prod(1)]],
  ['matmul', [{ shape: [37, 19], grad: true }, { shape: [19, 70], grad: true }], ([a, b]) => a.matmul(b), { rtol: 1e-4, atol: 1e-4 }],
  ['matmul vec4 NN', [{ shape: [2, 9, 16], grad: true }, { shape: [16, 20], grad: true }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['matmul vec4 NT (linear)', [{ shape: [9, 16], grad: true }, { shape: [12, 16], grad: true }], ([a, w]) => ops.linear(a, w), { atol: 1e-4 }],
  ['matmul GEMV', [{ shape: [3, 16] }, { shape: [16, 24] }, { shape: [24, 16] }], ([a, b, w]) => [a.matmul(b), ops.linear(a, w), a.narrow(1, 1, 8).matmul(b.narrow(0, 2, 8))], { atol: 1e-4 }],
  ['matmul batched broadcast', [{ shape: [2, 1, 5, 7], grad: true }, { shape: [3, 7, 6], grad: true }], ([a, b]) => a.matmul(b), { atol: 1e-4 }],
  ['matmul whole tiles', [{ shape: [32, 8], grad: true }, { shape: [8, 64], grad: true }, { shape: [64, 8] }], ([a, b, w]) => [a.matmul(b), ops.linear(a, w), a.matmul(b.narrow(1, 0, 60))], { atol: 1e-4 }],
  ['matmul bf16', [{ shape: [12, 16] }, { shape: [16, 8] }], ([a, b]) => a.to('bfloat16').matmul(b.to('bfloat16')).to('float32'), { rtol: 1e-2, atol: 1e-2 }],
  ['matmul f16', [{ shape: [12, 16] }, { shape: [16, 8] }], ([a, b]) => a.to('float16').matmul(b.to('float16')).to('float32'), { rtol: 2e-3, atol: 2e-3 }],
  ['matmul_bias_act (linear epilogue)', [{ shape: [2, 5, 12], grad: true }, { shape: [9, 12], grad: true }, { shape: [9], grad: true }], ([x, w, b]) => [ops.linear(x, w, b, { activation: 'gelu' }), ops.linear(x, w, null, { activation: 'silu' })], { atol: 1e-4 }],
  ['norm_rows', [{ shape: [3, 5, 70], grad: true }, { shape: [70], grad: true }, { shape: [70], grad: true }], ([x, w, b]) => [ops.layerNorm(x, [70], w, b), ops.rmsNorm(x, w)], { atol: 1e-4 }],
  ['norm_rows groupnorm', [{ shape: [2, 6, 3, 3], grad: true }], ([x]) => ops.groupNorm(x, 3), { atol: 1e-4 }],
  ['cumsum', [{ shape: [3, 7, 4], grad: true }, { shape: [9], dtype: 'int32', kind: 'int' }], ([x, i]) => [x.cumsum(1), x.cumsum(-1), i.cumsum(0)]],
  ['gather', [{ shape: [4, 6], grad: true }, { shape: [4, 3], dtype: 'int32', kind: [0, 5, 2, 1, 1, 1, 4, 3, 0, 5, 5, 2] }], ([x, i]) => ops.gather(x, 1, i)],
  ['scatter_add', [{ shape: [3, 5], grad: true }, { shape: [2, 4], dtype: 'int32', kind: [0, 0, 4, 2, 3, 1, 1, 0] }, { shape: [3, 4], grad: true }], ([x, i, s]) => ops.scatterAdd(x, 1, i, s)],
  ['index_select', [{ shape: [5, 4, 3], grad: true }, { shape: [6], dtype: 'int32', kind: [4, 0, 0, 2, 3, 4] }], ([x, i]) => [ops.indexSelect(x, 0, i), ops.indexSelect(x, 2, i.remainder(3))]],
  ['index_add', [{ shape: [7, 8], grad: true }, { shape: [2, 3], dtype: 'int32', kind: [1, 6, 1, 0, 2, 6] }], ([w, ids]) => ops.embedding(ids, w)],
  ['sort', [{ shape: [4, 33], grad: true }, { shape: [3, 20], kind: 'int' }], ([x, t]) => {
    const a = ops.sort(x, 1);
    const d = ops.sort(t, -1, true);
    const k = ops.topk(t, 5, -1);
    return [a.values, a.indices, d.values, d.indices, k.values, k.indices, ops.topk(x, 4, 0, false).values];
  }],
  ['sdpa', [{ shape: [2, 4, 5, 8], grad: true }, { shape: [2, 2, 7, 8], grad: true }, { shape: [2, 2, 7, 6], grad: true }], ([q, k, v]) => [
    ops.scaledDotProductAttention(q, k, v),
    ops.scaledDotProductAttention(q, k, v, { isCausal: true }),
  ], { atol: 1e-4 }],
  ['sdpa masked, long', [{ shape: [1, 2, 3, 16] }, { shape: [1, 2, 150, 16] }, { shape: [1, 2, 150, 4] }, { shape: [1, 1, 3, 150], kind: 'bool', dtype: 'bool' }], ([q, k, v, m]) =>
    ops.scaledDotProductAttention(q, k, v, { mask: m }), { atol: 1e-4 }],
  ['conv2d', [{ shape: [2, 4, 9, 8], grad: true }, { shape: [6, 2, 3, 2], grad: true }, { shape: [6], grad: true }], ([x, w, b]) =>
    ops.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }), { atol: 1e-4 }],
  ['conv2d depthwise (multiplier 2, bias, stride, padding, dilation)', [{ shape: [2, 3, 9, 8], grad: true }, { shape: [6, 1, 3, 3], grad: true }, { shape: [6], grad: true }], ([x, w, b]) =>
    [ops.conv2d(x, w, b, { stride: 2, padding: 2, dilation: [2, 1], groups: 3 }), ops.conv2d(x, w.narrow(0, 0, 3), null, { padding: 1, groups: 3 })], { atol: 1e-4 }],
  ['conv2d 1x1 and 3x3', [{ shape: [2, 3, 7, 7], grad: true }, { shape: [37, 3, 1, 1], grad: true }, { shape: [5, 3, 3, 3], grad: true }], ([x, w1, w3]) =>
    [ops.conv2d(x, w1), ops.conv2d(x, w3, null, { padding: 1 })], { atol: 1e-4 }],
  ['max_pool2d', [{ shape: [2, 3, 9, 8], grad: true }], ([x]) => [
    ops.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
    ops.maxPool2d(x, { kernelSize: [2, 3], stride: [2, 2], dilation: [2, 1], ceilMode: true }),
  ]],
  ['avg_pool2d', [{ shape: [2, 3, 9, 8], grad: true }], ([x]) => [
    ops.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
    ops.avgPool2d(x, { kernelSize: [2, 3], stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  ]],
  ['interpolate', [{ shape: [2, 3, 5, 6], grad: true }], ([x]) => [
    ops.interpolate(x, { size: [9, 4], mode: 'bilinear' }),
    ops.interpolate(x, { size: [7, 11], mode: 'bilinear', alignCorners: true }),
    ops.interpolate(x, { scaleFactor: 2, mode: 'nearest' }),
  ]],
  ['grid_sample', [{ shape: [2, 3, 5, 6], grad: true }, { shape: [2, 4, 3, 2], grad: true, kind: 'unit' }], ([x, g]) => [
    ops.gridSample(x, g.mul(2.4).sub(1.2)),
    ops.gridSample(x, g.mul(2.4).sub(1.2), { paddingMode: 'border', alignCorners: true }),
  ], { atol: 1e-4 }],
  ['ms_deform_attn', [{ shape: [2, 20 + 6, 2, 4], grad: true }, { shape: [2, 3, 2, 2, 3, 2], grad: true, kind: 'unit' }, { shape: [2, 3, 2, 2, 3], grad: true, kind: 'unit' }],
    ([v, loc, aw]) => ops.msDeformAttn(v, [[4, 5], [2, 3]], loc.mul(1.2).sub(0.1), aw), { atol: 1e-4 }],
  ['adamw_step', [{ shape: [37], grad: true }], ([p0]) => {
    const p = noGrad(() => p0.clone());
    p.requiresGrad = true;
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.05, amsgrad: true });
    for (let i = 0; i < 3; i++) {
      const l = tidy(() => p.mul(p).mul(p0.detach()).sum());
      l.backward();
      l.dispose();
      opt.step();
      opt.zeroGrad();
    }
    opt.dispose();
    const out = p.detach();
    p.dispose();
    return out;
  }],
  ['NaN and infinities', [{ shape: [2, 5], kind: [1, NaN, -Infinity, Infinity, 2, 0, -1, NaN, 3, NaN] }], ([x]) => [
    x.max(1), x.min(1), x.argmax(1), x.argmin(1), x.isnan(), x.isinf(), x.nanToNum(7), x.maximum(x.neg()), x.minimum(1),
    ops.sort(x, 1).values, ops.sort(x, 1).indices, ops.sort(x, 1, true).indices, ops.topk(x, 2, 1).indices,
    ops.maxPool2d(x.reshape([1, 1, 2, 5]), { kernelSize: [1, 2], stride: [1, 2] }),
  ]],
];

/** Cases that passed in this process (the coverage test runs the others itself, so it holds under `-t`). */
const passed = new Set<string>();

async function runCase([name, specs, f, tol]: Case): Promise<void> {
  ranNow.clear();
  const r = await consistent(specs, f, tol);
  expect(r.ok, `${name}: ${r.detail}`).toBe(true);
  for (const k of ranNow) covered.add(k);
  passed.add(name);
}

describe.skipIf(!hasGpu)('webgpu vs cpu', () => {
  it.each(CASES.map((c) => [c[0], c] as const))('%s', async (_n, c) => {
    await runCase(c);
  });

  it('GPU-style kernel variants (chosen on real GPUs) match the CPU too', async () => {
    const { rt } = await import('./backend.ts');
    const was = rt().cpuAdapter;
    rt().cpuAdapter = false;
    try {
      const r = await consistent([{ shape: [3, 40], grad: true }, { shape: [24, 40], grad: true }], ([a, w]) => ops.linear(a, w), { atol: 1e-4 });
      expect(r.ok, r.detail).toBe(true);
    } finally {
      rt().cpuAdapter = was;
    }
  });

  it('reports the adapter, features and limits', () => {
    const info = backendInfo();
    expect(info.backend).toBe('webgpu');
    expect((info.limits as Record<string, number>).maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(info.features)).toBe(true);
  });

  it('rejects float64 with a typed error', () => {
    expect(() => tensor([1, 2], { dtype: 'float64', backend: 'webgpu' })).toThrow(/cannot store float64/);
    expect(getBackend('webgpu').supports('matmul', 'float64')).toBe(false);
  });

  it('size classes waste at most 25%', () => {
    for (const b of [1, 5, 4097, 100_000, 3_000_000]) {
      expect(sizeClass(b)).toBeGreaterThanOrEqual(b);
      expect(sizeClass(b)).toBeLessThanOrEqual(Math.max(16, b * 2, b * 1.25 + 4));
    }
    expect(sizeClass(5000)).toBe(5120);
  });

  it('a synchronous loop reuses freed buffers without awaiting the GPU', async () => {
    const be = getBackend('webgpu');
    await be.sync!();
    const a = tensor(Array.from({ length: 4096 }, (_, i) => i % 7), { backend: 'webgpu' });
    const before = memoryStats().allocated;
    for (let i = 0; i < 600; i++) {
      tidy(() => {
        a.mul(a).add(a);
      });
    }
    const grown = memoryStats().allocated - before;
    // 1200 dispatches, each with a fresh 16 KiB output: without reuse ~19 MiB; with reuse after submission, about
    // one batch (64 dispatches) of outputs
    expect(grown).toBeLessThanOrEqual(1.5 * (1 << 20));
    const y = tidy(() => a.mul(a).add(a));
    expect(Array.from((await y.data()).slice(0, 3))).toEqual([0, 2, 6]);
    y.dispose();
    a.dispose();
  });

  it('1000 training steps keep live memory flat and reuse pooled buffers', async () => {
    const be = getBackend('webgpu');
    const w = tensor(Array.from({ length: 32 }, (_, i) => Math.sin(i)), { shape: [8, 4], backend: 'webgpu', requiresGrad: true });
    const x = tensor(Array.from({ length: 48 }, (_, i) => Math.cos(i)), { shape: [6, 8], backend: 'webgpu' });
    const opt = new AdamW([w], { lr: 0.01 });
    const live: number[] = [];
    const allocated: number[] = [];
    let first = 0;
    let last = 0;
    for (let step = 0; step < 1000; step++) {
      const loss = tidy(() => x.matmul(w).relu().sub(0.3).square().mean());
      loss.backward();
      opt.step();
      opt.zeroGrad();
      if (step % 100 === 0 || step === 999) {
        const v = await loss.item();
        if (step === 0) first = v;
        last = v;
        await be.sync!();
        live.push(memoryStats().live);
        allocated.push(memoryStats().allocated);
      }
      loss.dispose();
    }
    expect(last).toBeLessThan(first);
    // after warm-up (the optimizer state appears at step 0) live bytes do not move, and the pool stops growing
    expect(new Set(live.slice(1)).size).toBe(1);
    expect(allocated[allocated.length - 1]).toBe(allocated[2]);
    opt.dispose();
    w.dispose();
    x.dispose();
  });
});

describe.skipIf(!hasGpu)('webgpu kernel coverage', () => {
  it('every kernel the WebGPU backend registers has a passing consistency case', async () => {
    for (const c of CASES) if (!passed.has(c[0])) await runCase(c);
    const missing = kernelNames('webgpu').filter((k) => !covered.has(k));
    expect(missing, `kernels without a consistency case: ${missing.join(', ')}`).toEqual([]);
  });
});

describe.skipIf(!hasGpu)('webgpu tensors split across buffers', () => {
  it('embedding and linear (lm_head) read a weight split into chunks; other kernels refuse it with a typed error', async () => {
    const { setChunkLimitForTesting } = await import('./backend.ts');
    const V = 40;
    const D = 16;
    const wv = Array.from({ length: V * D }, (_, i) => Math.sin(i * 0.37));
    const ids = [0, 39, 17, 16, 15, 32, 31, 5];
    const x = Array.from({ length: 3 * D }, (_, i) => Math.cos(i * 0.3));
    const ref = {
      emb: await ops.embedding(tensor(ids, { dtype: 'int32', shape: [2, 4] }), tensor(wv, { shape: [V, D] })).data(),
      lin: await ops.linear(tensor(x, { shape: [3, D] }), tensor(wv, { shape: [V, D] })).data(),
      lin1: await ops.linear(tensor(x.slice(0, D), { shape: [1, D] }), tensor(wv, { shape: [V, D] })).data(),
    };
    setChunkLimitForTesting(16 * D * 4); // 16 rows per buffer: 3 chunks (16, 16, 8 rows)
    try {
      const w = tensor(wv, { shape: [V, D], backend: 'webgpu' });
      expect((w.storage as { chunks?: unknown[] }).chunks?.length).toBe(3);
      expect(Array.from(await w.data())).toEqual(Array.from(new Float32Array(wv)));
      const e = ops.embedding(tensor(ids, { dtype: 'int32', shape: [2, 4], backend: 'webgpu' }), w);
      expect(Array.from(await e.data())).toEqual(Array.from(ref.emb));
      const xs = tensor(x, { shape: [3, D], backend: 'webgpu' });
      const y = ops.linear(xs, w);
      const y1 = ops.linear(xs.narrow(0, 0, 1), w);
      const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).every((v, i) => Math.abs(v - b[i]) < 1e-4);
      expect(close(await y.data(), ref.lin)).toBe(true);
      expect(close(await y1.data(), ref.lin1)).toBe(true);
      expect(() => w.add(1)).toThrow(/split across GPU buffers/);
      for (const t of [w, e, xs, y, y1]) t.dispose();
    } finally {
      setChunkLimitForTesting(null);
    }
  });
});
