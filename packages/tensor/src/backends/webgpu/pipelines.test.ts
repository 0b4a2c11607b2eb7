/**
 * Asynchronous pipeline creation: `precompile(fn)` (compile-only run), `precompile(codes)`, work recorded while its
 * pipeline compiles (deferred, then encoded once ready, never compiled twice), and the synchronous fallback when a
 * flush cannot wait. Each test uses ops no earlier test ran, so that their pipelines are new to the runtime.
 */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import { tensor } from '../../tensor.ts';
import * as ops from '../../ops/index.ts';
import type { PipelineStats } from './runtime.ts';
import { pipelineCodes, precompile, rt } from './backend.ts';

const hasGpu = (await availableBackends()).includes('webgpu');

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const xv = seq(6 * 8, (i) => Math.sin(i * 0.7));
const wv = seq(5 * 8, (i) => Math.cos(i * 0.3));
const delta = (a: PipelineStats, b: PipelineStats) => ({
  sync: b.sync - a.sync,
  async: b.async - a.async,
  deferred: b.deferred - a.deferred,
  fallback: b.fallback - a.fallback,
  failed: b.failed - a.failed,
});
const closeTo = async (got: Promise<ArrayLike<number>>, want: Promise<ArrayLike<number>>) => {
  const [g, w] = await Promise.all([got, want]);
  expect(g.length).toBe(w.length);
  for (let i = 0; i < w.length; i++) expect(Math.abs(g[i] - w[i])).toBeLessThan(1e-5);
};

describe.skipIf(!hasGpu)('webgpu asynchronous pipelines', () => {
  it('precompile(fn) compiles a forward pass without running it; the real run then creates no pipeline', async () => {
    const f = (backend?: string) => {
      const x = tensor(xv, { shape: [6, 8], backend });
      const w = tensor(wv, { shape: [5, 8], backend });
      return ops.softmax(ops.linear(x, w).gelu(), -1);
    };
    const live0 = rt().memoryStats().live;
    const s0 = { ...rt().pipelineStats };
    const stats = await precompile(() => f('webgpu'));
    const d = delta(s0, stats);
    expect(d.async).toBeGreaterThanOrEqual(3); // matmul, gelu, softmax at least
    expect(d.sync).toBe(0);
    expect(d.failed).toBe(0);
    expect(rt().memoryStats().live).toBe(live0); // the compile-only run's tensors were disposed
    const s1 = { ...rt().pipelineStats };
    await closeTo(f('webgpu').data(), f().data());
    expect(delta(s1, rt().pipelineStats)).toEqual({ sync: 0, async: 0, deferred: 0, fallback: 0, failed: 0 });
  });

  it('work recorded while its pipelines compile waits for them (deferred), without compiling them twice', async () => {
    const f = (backend?: string) => {
      const x = tensor(xv, { shape: [6, 8], backend });
      return ops.cumsum(x.tanh().mul(3), 1);
    };
    const s0 = { ...rt().pipelineStats };
    const compiling = precompile(() => f('webgpu')); // not awaited: the compiles run while f records its work
    const y = f('webgpu');
    await closeTo(y.data(), f().data());
    await compiling;
    const d = delta(s0, rt().pipelineStats);
    expect(d.async).toBeGreaterThanOrEqual(2);
    expect(d.deferred).toBeGreaterThanOrEqual(2);
    expect(d.sync).toBe(0);
    expect(d.fallback).toBe(0);
  });

  it('a synchronous flush before the compile ends compiles the pending pipeline synchronously (fallback)', async () => {
    const f = (backend?: string) => tensor(xv, { shape: [6, 8], backend }).neg().exp();
    const s0 = { ...rt().pipelineStats };
    const compiling = precompile(() => f('webgpu'));
    const y = f('webgpu');
    rt().flush(); // cannot wait: the pending pipelines are created now
    const d = delta(s0, rt().pipelineStats);
    expect(d.deferred).toBeGreaterThanOrEqual(1);
    expect(d.fallback).toBe(d.deferred); // one dispatch per pipeline here
    await closeTo(y.data(), f().data());
    await compiling;
    // the asynchronous results arrived later and were not used twice: a new run needs nothing more
    const s1 = { ...rt().pipelineStats };
    await closeTo(f('webgpu').data(), f().data());
    expect(delta(s1, rt().pipelineStats)).toEqual({ sync: 0, async: 0, deferred: 0, fallback: 0, failed: 0 });
  });

  it('pipelineCodes() lists the WGSL of the pipelines; precompile(codes) skips those already known', async () => {
    const codes = pipelineCodes();
    expect(codes.length).toBeGreaterThan(5);
    expect(codes.every((c) => c.includes('@compute'))).toBe(true);
    const s0 = { ...rt().pipelineStats };
    await precompile(codes);
    expect(rt().pipelineStats.async).toBe(s0.async);
  });
});
