/**
 * cpu-wasm against the readable CPU kernels on random data (every SIMD kernel, edge shapes, strided views, half
 * dtypes), thread-count invariance, the f16 widening on every bit pattern, the emitter's encodings, the heap
 * allocator and its bound, and the single-threaded build without shared memory.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.ts';
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../dtype.ts';
import { initCpuWasm, setCpuWasmThreads } from './index.ts';
import { Heap, WasmMemoryError } from './heap.ts';
import { WasmRuntime } from './runtime.ts';
import { WasmBackend, WasmStorage } from './backend.ts';
import { gemmHook, gemmInto } from './ops/gemm.ts';
import { sleb, uleb } from './emit/module.ts';

const be = await initCpuWasm();

function values(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 31 - 1) * scale;
  }
  return a;
}

/** The same data on cpu and cpu-wasm. */
function pair(shape: number[], seed: number, scale = 1, dtype: T.DType = 'float32'): [T.Tensor, T.Tensor] {
  const v = values(shape.reduce((a, b) => a * b, 1), seed, scale);
  return [T.tensor(v, { shape, dtype }), T.tensor(v, { shape, dtype, backend: 'cpu-wasm' })];
}

/** max |got - want| / max(1, max |want|); NaN/Inf must match exactly. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let m = 1;
  let e = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) {
      expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `element ${i}: ${got[i]} vs ${want[i]}`).toBe(true);
      continue;
    }
    m = Math.max(m, Math.abs(want[i]));
    e = Math.max(e, Math.abs(got[i] - want[i]));
  }
  return e / m;
}

function simdRuns(f: () => void): number {
  const before = be.counts.simd;
  f();
  return be.counts.simd - before;
}

function withThreads<R>(n: number, f: () => R): R {
  const prev = setCpuWasmThreads(n);
  try {
    return f();
  } finally {
    setCpuWasmThreads(prev);
  }
}

describe('emitter encodings', () => {
  it('LEB128 as the spec examples', () => {
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0)).toEqual([0]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
  });
});

describe('heap', () => {
  it('reuses freed blocks, coalesces, grows in pages and stops at its bound', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const h = new Heap(mem, 0, 4 * 65536);
    const a = h.alloc(100);
    const b = h.alloc(1000);
    expect([a, b]).toEqual([0, 128]);
    h.free(a, 100);
    expect(h.alloc(50)).toBe(0); // best fit in the freed block
    expect(h.stats().live).toBe(64 + 1024);
    h.free(0, 50);
    h.free(b, 1000);
    expect(h.stats()).toMatchObject({ live: 0, pooled: 0 }); // coalesced back into the top
    expect(h.alloc(70000, false)).toBe(-1); // would need growth
    const big = h.alloc(3 * 65536);
    expect(mem.buffer.byteLength).toBeGreaterThanOrEqual(3 * 65536);
    expect(() => h.alloc(65536 + 1)).toThrow(WasmMemoryError);
    h.free(big, 3 * 65536);
    expect(h.stats()).toMatchObject({ live: 0, allocated: mem.buffer.byteLength, maximum: 4 * 65536 });
  });
});

describe('cpu-wasm info and memory', () => {
  it('reports threads, mode and memory; tensors live in the WASM memory', () => {
    const info = be.info();
    expect(info.backend).toBe('cpu-wasm');
    expect(info.threads).toBe(be.rt.active);
    expect(String(info.mode)).toMatch(be.rt.shared ? /shared memory/ : /single-threaded/);
    const live = be.memoryStats().live;
    const t = T.zeros([1000], { backend: 'cpu-wasm' });
    expect(be.memoryStats().live).toBe(live + 4032);
    expect(t.storage).toBeInstanceOf(WasmStorage);
    expect((t.storage.handle as Float32Array).buffer).toBe(be.rt.memory.buffer);
    t.dispose();
    expect(be.memoryStats().live).toBe(live);
  });
});

const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [2, 300, 9], [5, 17, 130], [70, 257, 45], [130, 300, 260]];

describe('matmul vs the readable kernel', () => {
  it.each(SHAPES)('%i x %i x %i, plain and transposed views, 1 and 2 threads bitwise equal', (M, K, N) => {
    const [a, wa] = pair([M, K], 1);
    const [b, wb] = pair([K, N], 2);
    const [bt, wbt] = pair([N, K], 3);
    const [at, wat] = pair([K, M], 4);
    const cases: [T.Tensor, T.Tensor][] = [
      [T.matmul(a, b), withThreads(1, () => T.matmul(wa, wb))],
      [T.matmul(a, bt.transpose(0, 1)), T.matmul(wa, wbt.transpose(0, 1))],
      [T.matmul(at.transpose(0, 1), b), T.matmul(wat.transpose(0, 1), wb)],
    ];
    for (const [want, got] of cases) expect(relErr(got.dataSync(), want.dataSync())).toBeLessThan(2e-6 * Math.sqrt(K));
    const two = withThreads(2, () => T.matmul(wa, wb)).dataSync();
    expect(two).toEqual(cases[0][1].dataSync());
  });

  it('batched with broadcast batch dims and a 1-D operand', () => {
    const [a, wa] = pair([2, 1, 9, 33], 5);
    const [b, wb] = pair([3, 33, 11], 6);
    const [v, wv] = pair([33], 7);
    expect(simdRuns(() => expect(relErr(T.matmul(wa, wb).dataSync(), T.matmul(a, b).dataSync())).toBeLessThan(1e-5))).toBeGreaterThan(0);
    expect(relErr(T.matmul(wa, wv).dataSync(), T.matmul(a, v).dataSync())).toBeLessThan(1e-5);
  });

  it.each(['float16', 'bfloat16'] as const)('%s operands (GEMM and GEMV, both weight layouts) round like the reference', (dtype) => {
    for (const [M, K, N] of [[1, 1000, 77], [3, 64, 40], [37, 70, 90]]) {
      const [a, wa] = pair([M, K], 8, 1, dtype);
      const [b, wb] = pair([K, N], 9, 1, dtype);
      const [w, ww] = pair([N, K], 10, 1, dtype);
      const tol = dtype === 'float16' ? 2e-3 : 1.6e-2; // one rounding of the output (plus f32 vs f64 sums)
      expect(relErr(T.matmul(wa, wb).dataSync(), T.matmul(a, b).dataSync())).toBeLessThan(tol);
      expect(relErr(T.linear(wa, ww).dataSync(), T.linear(a, w).dataSync())).toBeLessThan(tol);
    }
  });

  it('GEMV (M < 4) in float32: both layouts, tails, threads', () => {
    for (const M of [1, 2, 3]) {
      const [a, wa] = pair([M, 1001], 11);
      const [b, wb] = pair([1001, 1031], 12);
      const [w, ww] = pair([1031, 1001], 13);
      const one = withThreads(1, () => T.matmul(wa, wb).dataSync());
      expect(relErr(one, T.matmul(a, b).dataSync())).toBeLessThan(1e-5);
      expect(withThreads(2, () => T.matmul(wa, wb).dataSync())).toEqual(one);
      expect(relErr(T.linear(wa, ww).dataSync(), T.linear(a, w).dataSync())).toBeLessThan(1e-5);
    }
  });

  it('the GEMV kernels widen every float16 bit pattern exactly', () => {
    const rt = be.rt;
    const n = 65536;
    const b = rt.heap.alloc(n * 2);
    const x = rt.heap.alloc(64);
    const y = rt.heap.alloc(n * 4);
    try {
      const bits = new Uint16Array(rt.memory.buffer, b, n);
      for (let i = 0; i < n; i++) bits[i] = i;
      rt.f32()[x / 4] = 1;
      rt.fns.gemv_axpy_f16(x, b, 0, y, 1, 0, n); // y[i] = 1 * B[0, i] via the vector widening
      const out = new Float32Array(rt.memory.buffer, y, n);
      let bad = 0;
      for (let i = 0; i < n; i++) {
        const want = f16BitsToF32(i) + 0; // the sum starts at +0, so -0 comes out +0
        if (!(Object.is(out[i], want) || (Number.isNaN(want) && Number.isNaN(out[i])))) bad++;
      }
      expect(bad).toBe(0);
    } finally {
      rt.heap.free(b, n * 2);
      rt.heap.free(x, 64);
      rt.heap.free(y, n * 4);
    }
  });
});

describe('elementwise, norms, softmax vs the readable kernels', () => {
  it('unary ops, with special values', () => {
    const v = values(1003, 14, 30);
    v.set([-100, 100, -Infinity, Infinity, Number.NaN, 0, -0, -88, 88.6, 1e-30, -87.2]);
    const [c, w] = [T.tensor(v), T.tensor(v, { backend: 'cpu-wasm' })];
    for (const op of ['exp', 'sigmoid', 'silu', 'relu', 'square', 'abs', 'neg'] as const) {
      const n = simdRuns(() => expect(relErr(w[op]().dataSync(), c[op]().dataSync()), op).toBeLessThan(3e-7));
      expect(n).toBe(1);
    }
    // exp is checked relative to each value (not only the largest).
    const e = w.exp().dataSync();
    const ref = c.exp().dataSync();
    for (let i = 0; i < v.length; i++) if (Number.isFinite(ref[i]) && ref[i] > 1e-37) expect(Math.abs(e[i] - ref[i]) / ref[i]).toBeLessThan(3e-7);
  });

  it('binary ops: dense, scalar, row broadcast, strided (declined to the readable kernel)', () => {
    const [a, wa] = pair([40, 33], 15);
    const [b, wb] = pair([40, 33], 16);
    const [r, wr] = pair([33], 17);
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
      expect(relErr(wa[op](wb).dataSync(), a[op](b).dataSync())).toBe(0);
      expect(relErr(wa[op](2.5).dataSync(), a[op](2.5).dataSync())).toBe(0);
      expect(relErr(wa[op](wr).dataSync(), a[op](r).dataSync())).toBe(0);
      expect(relErr(wa.transpose(0, 1)[op](wb.transpose(0, 1)).dataSync(), a.transpose(0, 1)[op](b.transpose(0, 1)).dataSync())).toBe(0);
    }
  });

  it('softmax, layer norm and RMS norm with gradients', () => {
    const [x, wx] = pair([37, 301], 18, 3);
    const [g, wg] = pair([301], 19);
    const [bb, wbb] = pair([301], 20);
    expect(relErr(T.softmax(wx, -1).dataSync(), T.softmax(x, -1).dataSync())).toBeLessThan(1e-6);
    const run = (xx: T.Tensor, gg: T.Tensor, b2: T.Tensor) => {
      const xi = xx.clone();
      xi.requiresGrad = true;
      const y = T.layerNorm(xi, [301], gg, b2, 1e-5).add(T.rmsNorm(xi, gg, 1e-6)).mul(xi.cos()).sum();
      T.backward(y);
      return [y.dataSync(), xi.grad!.dataSync()];
    };
    const [yc, gc] = run(x, g, bb);
    const [yw, gw] = run(wx, wg, wbb);
    expect(relErr(yw, yc)).toBeLessThan(1e-5);
    expect(relErr(gw, gc)).toBeLessThan(1e-5);
  });
});

describe('attention and convolution vs the readable kernels', () => {
  it('sdpa: grouped heads, causal with Tq < Tk, additive mask, rows that see nothing', () => {
    const [q, wq] = pair([2, 4, 5, 16], 21);
    const [k, wk] = pair([2, 2, 9, 16], 22);
    const [v, wv] = pair([2, 2, 9, 8], 23);
    const causal = (qq: T.Tensor, kk: T.Tensor, vv: T.Tensor) => T.scaledDotProductAttention(qq, kk, vv, { isCausal: true }).dataSync();
    expect(simdRuns(() => expect(relErr(causal(wq, wk, wv), causal(q, k, v))).toBeLessThan(1e-6))).toBe(1);
    const maskV = values(5 * 9, 24).map((m) => (m > 0.3 ? -Infinity : m));
    for (let j = 0; j < 9; j++) maskV[j] = -Infinity; // query row 0 sees no key: NaN
    const mask = T.tensor(maskV, { shape: [1, 1, 5, 9] });
    const wmask = T.tensor(maskV, { shape: [1, 1, 5, 9], backend: 'cpu-wasm' });
    const got = T.scaledDotProductAttention(wq, wk, wv, { mask: wmask }).dataSync();
    const want = T.scaledDotProductAttention(q, k, v, { mask }).dataSync();
    expect(Number.isNaN(want[0])).toBe(true);
    expect(relErr(got, want)).toBeLessThan(1e-6);
  });

  it.each([
    [{ padding: 1 }, 1, true],
    [{ stride: 2, padding: 2, dilation: 2 }, 1, false],
    [{ groups: 2, padding: [0, 1] }, 2, true],
    [{}, 1, false],
  ] as const)('conv2d %o (groups %i, bias %s) and its gradients', (opts, groups, bias) => {
    const [x, wx] = pair([2, 4, 11, 9], 25);
    const ks = 'groups' in opts || Object.keys(opts).length > 0 ? 3 : 1;
    const [w, ww] = pair([6, 4 / groups, ks, ks], 26);
    const [b, wb] = pair([6], 27);
    const go = (xx: T.Tensor, w2: T.Tensor, b2: T.Tensor) => {
      const xi = xx.clone();
      const wi = w2.clone();
      xi.requiresGrad = true;
      wi.requiresGrad = true;
      const y = T.conv2d(xi, wi, bias ? b2 : null, opts as Parameters<typeof T.conv2d>[3]);
      T.backward(y.mul(y).sum());
      return [y.dataSync(), xi.grad!.dataSync(), wi.grad!.dataSync()];
    };
    const want = go(x, w, b);
    const before = ['conv2d', 'conv2d_grad_input', 'conv2d_grad_weight'].map((k) => be.byOp.simd.get(k) ?? 0);
    const got = go(wx, ww, wb);
    expect(['conv2d', 'conv2d_grad_input', 'conv2d_grad_weight'].map((k, i) => (be.byOp.simd.get(k) ?? 0) - before[i])).toEqual([1, 1, 1]);
    got.forEach((g, i) => expect(relErr(g, want[i])).toBeLessThan(1e-5));
  });
});

describe('single-threaded build without shared memory', () => {
  it('runs the GEMM, keeps storages valid across memory growth, and reports its mode', async () => {
    const rt = await WasmRuntime.create({ shared: false, maxMemoryBytes: 64 << 20, initialMemoryBytes: 1 << 20 });
    expect(rt.shared).toBe(false);
    expect(rt.threads).toBe(1);
    const b = new WasmBackend(rt, gemmHook(rt));
    expect(b.info().mode).toMatch(/single-threaded/);
    const s = b.allocate('float32', 6);
    b.upload(s, new Float32Array([1, 2, 3, 4, 5, 6]));
    const before = rt.memory.buffer;
    const big = rt.heap.alloc(8 << 20); // grows (and detaches the old buffer)
    expect(rt.memory.buffer).not.toBe(before);
    expect(Array.from(b.readSync(s))).toEqual([1, 2, 3, 4, 5, 6]);
    // C [2, 2] = A [2, 3] . A^T
    const c = rt.heap.alloc(16);
    gemmInto(rt, { ptr: (s as WasmStorage).ptr, rs: 12, cs: 4, t: 'f32' }, { ptr: (s as WasmStorage).ptr, rs: 4, cs: 12, t: 'f32' }, c, 8, 2, 3, 2);
    expect(Array.from(rt.f32().subarray(c / 4, c / 4 + 4))).toEqual([14, 32, 32, 77]);
    expect(() => rt.heap.alloc(100 << 20)).toThrow(WasmMemoryError);
    rt.heap.free(big, 8 << 20);
    b.free(s);
    rt.dispose();
  });
});

describe('rounding to half', () => {
  it('f32 -> float16 / bfloat16 in WASM equals dtype.ts on edge values and a sweep', () => {
    const rt = be.rt;
    const vals: number[] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e9, -1e9, Infinity, -Infinity, Number.NaN, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -26, 2 ** -14, 2 ** -14 - 2 ** -24, 1e-40, 3.4e38];
    // Every float16 value and the midpoints between neighbours (the ties), both signs.
    for (let hbits = 0; hbits < 0x7c00; hbits++) {
      const a = f16BitsToF32(hbits);
      const b = f16BitsToF32(hbits + 1);
      vals.push(a, (a + b) / 2, -a, -(a + b) / 2);
    }
    const n = vals.length;
    const src = rt.heap.alloc(n * 4);
    const dst = rt.heap.alloc(n * 2);
    try {
      rt.f32().set(vals, src / 4);
      for (const [fn, ref] of [['f32_to_f16', f32ToF16Bits], ['f32_to_bf16', f32ToBf16Bits]] as const) {
        rt.fns[fn](src, dst, n);
        const got = new Uint16Array(rt.memory.buffer, dst, n);
        const f = new Float32Array(vals);
        let bad = 0;
        for (let i = 0; i < n; i++) if (got[i] !== ref(f[i])) bad++;
        expect(bad, fn).toBe(0);
      }
    } finally {
      rt.heap.free(src, n * 4);
      rt.heap.free(dst, n * 2);
    }
  });
});

describe('half-precision ops', () => {
  it.each(['float16', 'bfloat16'] as const)('%s elementwise, softmax, sdpa run the f32 SIMD kernels on widened spans and match the reference', (dtype) => {
    const [a, wa] = pair([6, 40], 30, 2, dtype);
    const [b, wb] = pair([6, 40], 31, 2, dtype);
    const [q, wq] = pair([1, 2, 6, 8], 32, 1, dtype);
    const [k, wk] = pair([1, 2, 9, 8], 33, 1, dtype);
    const [v, wv] = pair([1, 2, 9, 8], 34, 1, dtype);
    const before = ['binary:add', 'sdpa'].map((op) => be.byOp.simd.get(op) ?? 0);
    // a strided view of a half storage as an input, so only its span is widened
    expect(Array.from(wa.transpose(0, 1).add(wb.transpose(0, 1)).dataSync())).toEqual(Array.from(a.transpose(0, 1).add(b.transpose(0, 1)).dataSync()));
    expect(relErr(T.softmax(wa.narrow(1, 3, 30), -1).dataSync(), T.softmax(a.narrow(1, 3, 30), -1).dataSync())).toBeLessThan(dtype === 'float16' ? 1e-3 : 8e-3);
    const att = (x: T.Tensor, y: T.Tensor, z: T.Tensor) => T.scaledDotProductAttention(x, y, z, { isCausal: true }).dataSync();
    expect(relErr(att(wq, wk, wv), att(q, k, v))).toBeLessThan(dtype === 'float16' ? 1e-3 : 8e-3);
    expect(relErr(wa.add(wb).dataSync(), a.add(b).dataSync())).toBe(0); // dense: the SIMD kernel
    expect(['binary:add', 'sdpa'].map((op, i) => (be.byOp.simd.get(op) ?? 0) - before[i])).toEqual([1, 1]);
  });
});
