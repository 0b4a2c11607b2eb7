/**
 * cpu-wasm parallel runs: threads take chunks from a shared counter, so results must not depend on the thread count
 * or on how many chunks a run is cut into; the blocked attention path (whole query blocks as chunks) against the
 * readable kernel.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.ts';
import { initCpuWasm, setCpuWasmThreads } from './index.ts';

const be = await initCpuWasm();
const rt = be.rt;

function values(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 31 - 1) * scale;
  }
  return a;
}

function pair(shape: number[], seed: number, dtype: T.DType = 'float32'): [T.Tensor, T.Tensor] {
  const v = values(shape.reduce((a, b) => a * b, 1), seed);
  return [T.tensor(v, { shape, dtype }), T.tensor(v, { shape, dtype, backend: 'cpu-wasm' })];
}

/** f(), run with `threads` threads and `cpt` chunks per thread, as raw bits. */
function bitsWith(threads: number, cpt: number, f: () => T.Tensor): number[] {
  const prev = [setCpuWasmThreads(threads), rt.chunksPerThread] as const;
  rt.chunksPerThread = cpt;
  try {
    const out = f();
    const d = out.dtype === 'float32' ? out.dataSync() : new Float32Array(out.dataSync());
    return Array.from(new Uint32Array(new Float32Array(d).buffer));
  } finally {
    setCpuWasmThreads(prev[0]);
    rt.chunksPerThread = prev[1];
  }
}

/** max |got - want| / max(1, max |want|); NaN must match NaN. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let m = 1;
  let e = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) {
      expect(Number.isNaN(got[i]), `element ${i}`).toBe(true);
      continue;
    }
    m = Math.max(m, Math.abs(want[i]));
    e = Math.max(e, Math.abs(got[i] - want[i]));
  }
  return e / m;
}

describe('chunked parallel runs', () => {
  it('split() covers the range with aligned inner bounds: one chunk on one thread, up to chunksPerThread each', () => {
    expect(rt.split(1000, 8, 64, 1)).toEqual([0, 1000]);
    const b = rt.split(1000, 8, 64, 2);
    expect(b.length - 1).toBe(Math.min(2 * rt.chunksPerThread, 15));
    expect(b[0]).toBe(0);
    expect(b[b.length - 1]).toBe(1000);
    b.slice(1, -1).forEach((x, i) => {
      expect(x % 8).toBe(0);
      expect(x).toBeGreaterThanOrEqual(b[i]);
    });
    expect(rt.split(100, 8, 64, 2)).toEqual([0, 100]); // too small to split
  });

  it.skipIf(!rt.pool)('back-to-back tiny jobs: every chunk runs once, whether a worker claims the job or its offer is withdrawn', () => {
    const pool = rt.pool!;
    const n = 64;
    const [a, y] = [rt.heap.alloc(n * 4), rt.heap.alloc(n * 4)];
    const one = rt.heap.alloc(64);
    const prev = setCpuWasmThreads(2);
    try {
      const f = rt.f32();
      f[one / 4] = 1;
      const [jobs0, withdrawn0] = [pool.jobs, pool.withdrawn];
      let bad = 0;
      for (let it = 0; it < 300; it++) {
        for (let i = 0; i < n; i++) f[a / 4 + i] = it * n + i;
        // y = a + 1 in 8 chunks of 8 (bin_add with a scalar operand)
        rt.parallel('bin_add', Array.from({ length: 8 }, (_, c) => [a + 32 * c, one, y + 32 * c, 8, 1]));
        for (let i = 0; i < n; i++) if (f[y / 4 + i] !== it * n + i + 1) bad++;
      }
      expect(bad).toBe(0);
      expect(pool.jobs - jobs0).toBe(300);
      expect(pool.withdrawn - withdrawn0).toBeLessThanOrEqual(300);
    } finally {
      setCpuWasmThreads(prev);
      rt.heap.free(a, n * 4);
      rt.heap.free(y, n * 4);
      rt.heap.free(one, 64);
    }
  });

  it('matmul, GEMV, conv2d and blocked attention give the same bits for any thread count and chunking', () => {
    const [, a] = pair([150, 300], 1);
    const [, b] = pair([300, 1100], 2); // wide enough for several GEMM chunks (at least 256 columns each)
    const [, x] = pair([1, 700], 3, 'float16');
    const [, w] = pair([700, 2100], 4, 'float16'); // axpy chunks are at least 1024 columns
    const [, wt] = pair([1500, 700], 10, 'float16'); // dot (Linear layout) chunks at least 256
    const [, img] = pair([1, 8, 40, 40], 5);
    const [, f] = pair([16, 8, 3, 3], 6);
    const [, q] = pair([1, 3, 70, 16], 7);
    const [, k] = pair([1, 3, 90, 16], 8);
    const [, v] = pair([1, 3, 90, 8], 9);
    const cases: [string, () => T.Tensor][] = [
      ['matmul', () => T.matmul(a, b)],
      ['gemv f16', () => T.matmul(x, w)],
      ['gemv f16 linear', () => T.linear(x, wt)],
      ['conv2d', () => T.conv2d(img, f, null, { padding: 1 })],
      ['sdpa causal', () => T.scaledDotProductAttention(q, k, v, { isCausal: true })],
    ];
    for (const [name, fn] of cases) {
      const one = bitsWith(1, 1, fn);
      if (rt.threads > 1) {
        for (const cpt of [1, 3, 8]) expect(bitsWith(2, cpt, fn), `${name}, 2 threads, ${cpt} chunks each`).toEqual(one);
      }
    }
  });

  it('blocked attention (Tq >= 16, several query blocks) matches the readable kernel: grouped heads, causal with Tq < Tk, mask, rows that see nothing', () => {
    const [B, Hq, Hk, Tq, Tk, D, Dv] = [2, 4, 2, 300, 310, 8, 6]; // 300 query rows: four blocks of 64 and one of 44
    const [q, wq] = pair([B, Hq, Tq, D], 11);
    const [k, wk] = pair([B, Hk, Tk, D], 12);
    const [v, wv] = pair([B, Hk, Tk, Dv], 13);
    const before = be.byOp.simd.get('sdpa') ?? 0;
    const causal = (qq: T.Tensor, kk: T.Tensor, vv: T.Tensor) => T.scaledDotProductAttention(qq, kk, vv, { isCausal: true }).dataSync();
    expect(relErr(causal(wq, wk, wv), causal(q, k, v))).toBeLessThan(1e-6);
    const maskV = values(Tq * Tk, 14).map((m) => (m > 0.3 ? -Infinity : m));
    for (const row of [0, 260]) for (let j = 0; j < Tk; j++) maskV[row * Tk + j] = -Infinity; // rows that see nothing: NaN
    const mask = T.tensor(maskV, { shape: [1, 1, Tq, Tk] });
    const wmask = T.tensor(maskV, { shape: [1, 1, Tq, Tk], backend: 'cpu-wasm' });
    const got = T.scaledDotProductAttention(wq, wk, wv, { mask: wmask }).dataSync();
    const want = T.scaledDotProductAttention(q, k, v, { mask }).dataSync();
    expect(Number.isNaN(want[0]) && Number.isNaN(want[260 * Dv])).toBe(true);
    expect(relErr(got, want)).toBeLessThan(1e-6);
    expect((be.byOp.simd.get('sdpa') ?? 0) - before).toBe(2);
  });
});
