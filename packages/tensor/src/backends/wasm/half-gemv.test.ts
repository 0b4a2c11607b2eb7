/**
 * The float16 GEMV fast widening (gemv_*_f16f): exact on every finite half, taken only for storages a scan found
 * free of Inf/NaN, and the scan result dropped on every write to the storage.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.ts';
import { f16BitsToF32, f32ToF16Bits } from '../../dtype.ts';
import { initCpuWasm } from './index.ts';
import type { WasmStorage } from './backend.ts';

const be = await initCpuWasm();
const rt = be.rt;

/** f16 bits of pseudo-random values in [-1, 1) with special values planted at the front. */
function halfBits(n: number, seed: number, special: number[]): Uint16Array {
  const out = new Uint16Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = f32ToF16Bits(s / 2 ** 31 - 1);
  }
  out.set(special.slice(0, n));
  return out;
}

const half = (bits: Uint16Array, shape: number[], backend?: string): T.Tensor =>
  T.tensor(Float32Array.from(bits, f16BitsToF32), { shape, backend }).to('float16');

// Subnormals (smallest, largest, negative), signed zeros, max finite (+-65504), smallest normal.
const FINITE_SPECIAL = [0x0001, 0x03ff, 0x8001, 0x83ff, 0x0000, 0x8000, 0x7bff, 0xfbff, 0x0400, 0x8400, 0x0200];
const NONFINITE_SPECIAL = [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00];

const bitsOf = (t: T.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));

/** Two runs of the same product: the first reads the weights once (exact widening), the second scans them. */
function twice(f: () => T.Tensor): { first: T.Tensor; second: T.Tensor; scans: number; fast: number } {
  const [s0, f0] = [rt.halfScans, rt.halfFastGemv];
  const first = f();
  const second = f();
  return { first, second, scans: rt.halfScans - s0, fast: rt.halfFastGemv - f0 };
}

describe('float16 GEMV: finite-only widening', () => {
  it('gemv kernels widen every finite float16 bit pattern exactly (both layouts)', () => {
    const n = 65536;
    const b = rt.heap.alloc(n * 2);
    const x = rt.heap.alloc(64);
    const y = rt.heap.alloc(n * 4);
    try {
      const bits = new Uint16Array(rt.memory.buffer, b, n);
      for (let i = 0; i < n; i++) bits[i] = (i & 0x7c00) === 0x7c00 ? 0 : i; // Inf/NaN patterns replaced by +0
      rt.f32()[x / 4] = 1;
      let bad = 0;
      // axpy: y[i] = 1 * B[0, i]; dot with K = 1: y[i] = x[0] * B[i, 0] (column stride 2 bytes).
      for (const [fn, stride] of [['gemv_axpy_f16f', 0], ['gemv_dot_f16f', 2]] as const) {
        rt.fns[fn](x, b, stride, y, 1, 0, n);
        const out = new Float32Array(rt.memory.buffer, y, n);
        for (let i = 0; i < n; i++) if (!Object.is(out[i], f16BitsToF32(bits[i]) + 0)) bad++;
      }
      expect(bad).toBe(0);
      const scan = rt.fns.f16_nonfinite as (p: number, n: number) => number;
      expect(scan(b, n)).toBe(0);
      for (const at of [0, 31, 32, n - 1]) {
        for (const v of [0x7c00, 0xfe00]) {
          bits[at] = v; // also in the scalar tail: n - 1 with n odd below
          expect(scan(b, n)).toBe(1);
          expect(scan(b, at === n - 1 ? n - 1 : n), `word ${at}`).toBe(at === n - 1 ? 0 : 1);
          bits[at] = 0;
        }
      }
      expect(scan(b, n)).toBe(0);
    } finally {
      rt.heap.free(b, n * 2);
      rt.heap.free(x, 64);
      rt.heap.free(y, n * 4);
    }
  });

  it('matmul and linear on finite weights: fast path bitwise equal to the exact one, close to the CPU reference', () => {
    const [M, K, N] = [1, 203, 517]; // tails along K (203 = 8*25 + 3) and N (517 = 4*129 + 1)
    const wBits = halfBits(K * N, 3, FINITE_SPECIAL);
    // x: 0.5 where the weights' +-65504 meet it, 0.25 for the second one of linear's row (no f16 overflow of the output).
    const xBits = halfBits(M * K, 4, [0x3800, 0xb800, 0x3800, 0x3800, 0x3800, 0x3800, 0x3800, 0x3400]);
    const [x, xw] = [half(xBits, [M, K]), half(xBits, [M, K], 'cpu-wasm')];
    for (const layout of ['matmul', 'linear'] as const) {
      const [w, ww] = layout === 'matmul' ? [half(wBits, [K, N]), half(wBits, [K, N], 'cpu-wasm')] : [half(wBits, [N, K]), half(wBits, [N, K], 'cpu-wasm')];
      const f = (a: T.Tensor, b: T.Tensor): T.Tensor => (layout === 'matmul' ? T.matmul(a, b) : T.linear(a, b));
      const r = twice(() => f(xw, ww));
      expect([r.scans, r.fast], layout).toEqual([1, 1]);
      expect((ww.storage as WasmStorage).halfFinite).toBe(true);
      expect(bitsOf(r.second), layout).toEqual(bitsOf(r.first));
      // A third run uses the cached scan.
      const again = twice(() => f(xw, ww));
      expect([again.scans, again.fast]).toEqual([0, 2]);
      const want = f(x, w).dataSync();
      const got = r.second.dataSync();
      const scale = Math.max(...Array.from(want, Math.abs));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${layout} ${i}`).toBeLessThanOrEqual(2e-3 * scale);
      expect(Number.isFinite(scale) && scale > 1000).toBe(true); // 65504 in the weights reached the output
    }
  });

  it('weights holding Inf/NaN keep the exact widening and give the reference Inf/NaN', () => {
    const [M, K, N] = [1, 64, 40];
    const wBits = halfBits(K * N, 5, [...NONFINITE_SPECIAL, ...FINITE_SPECIAL]);
    const xBits = halfBits(M * K, 6, []);
    const [x, xw] = [half(xBits, [M, K]), half(xBits, [M, K], 'cpu-wasm')];
    const [w, ww] = [half(wBits, [K, N]), half(wBits, [K, N], 'cpu-wasm')];
    const r = twice(() => T.matmul(xw, ww));
    expect([r.scans, r.fast]).toEqual([1, 0]);
    expect((ww.storage as WasmStorage).halfFinite).toBe(false);
    const want = T.matmul(x, w).dataSync();
    const got = r.second.dataSync();
    for (let i = 0; i < N; i++) {
      if (Number.isFinite(want[i])) expect(Math.abs(got[i] - want[i]), `column ${i}`).toBeLessThan(2e-2);
      else expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `column ${i}: ${got[i]} vs ${want[i]}`).toBe(true);
    }
    // Row 0 holds +Inf, -Inf, then NaNs: the first two columns are infinite, the next three NaN.
    expect(Array.from(want.slice(0, 5), (v) => (Number.isNaN(v) ? 'NaN' : Math.abs(v)))).toEqual([Infinity, Infinity, 'NaN', 'NaN', 'NaN']);
    expect(want.some((v) => Number.isFinite(v))).toBe(true);
  });

  it('a write to the weights after a scan drops it: Inf/NaN written later come out like the reference', () => {
    const [M, K, N] = [1, 48, 24];
    const clean = halfBits(K * N, 7, FINITE_SPECIAL);
    const xBits = halfBits(M * K, 8, []);
    const xw = half(xBits, [M, K], 'cpu-wasm');
    const ww = half(clean, [K, N], 'cpu-wasm');
    expect(twice(() => T.matmul(xw, ww)).fast).toBe(1);
    expect((ww.storage as WasmStorage).halfFinite).toBe(true);
    // Write Inf into column 3 and NaN into column 7 through an op (copyInto runs the backend's copy kernel).
    const dirty = clean.slice();
    dirty[5 * N + 3] = 0x7c00;
    dirty[9 * N + 7] = 0x7e00;
    T.copyInto(ww, half(dirty, [K, N], 'cpu-wasm'));
    expect((ww.storage as WasmStorage).halfFinite).toBe(null);
    const r = twice(() => T.matmul(xw, ww));
    expect([r.scans, r.fast]).toEqual([1, 0]);
    const want = T.matmul(half(xBits, [M, K]), half(dirty, [K, N])).dataSync();
    for (const got of [r.first.dataSync(), r.second.dataSync()]) {
      expect(Math.abs(got[3])).toBe(Infinity);
      expect(got[3]).toBe(want[3]);
      expect(Number.isNaN(got[7]) && Number.isNaN(want[7])).toBe(true);
    }
    // Writing finite values back makes the fast path available again after a new scan.
    T.copyInto(ww, half(clean, [K, N], 'cpu-wasm'));
    const back = twice(() => T.matmul(xw, ww));
    expect([back.scans, back.fast]).toEqual([1, 1]);
    expect(bitsOf(back.second)).toEqual(bitsOf(back.first));
  });

  it('storages written before every read, or read through a small window, are never scanned', () => {
    const xw = half(halfBits(64, 9, []), [1, 64], 'cpu-wasm');
    const big = half(halfBits(64 * 400, 10, []), [64, 400], 'cpu-wasm');
    const window = big.narrow(1, 0, 20); // a twentieth of the storage
    const r = twice(() => T.matmul(xw, window));
    expect([r.scans, r.fast]).toEqual([0, 0]);
    // A third of a fused weight (QKV-like) is scanned on its second read, and the result is kept for the others.
    const fused = half(halfBits(64 * 360, 16, []), [64, 360], 'cpu-wasm');
    const third = (i: number): T.Tensor => fused.narrow(1, 120 * i, 120);
    const q = twice(() => T.matmul(xw, third(0)));
    expect([q.scans, q.fast]).toEqual([1, 1]);
    expect(bitsOf(q.second)).toEqual(bitsOf(q.first));
    expect(twice(() => T.matmul(xw, third(1))).fast).toBe(2);
    const cache = half(halfBits(64 * 40, 11, []), [64, 40], 'cpu-wasm');
    const s0 = rt.halfScans;
    for (let step = 0; step < 3; step++) {
      T.copyInto(cache, half(halfBits(64 * 40, 12 + step, []), [64, 40], 'cpu-wasm'));
      T.matmul(xw, cache);
    }
    expect(rt.halfScans).toBe(s0);
  });
});
