/**
 * The cpu-wasm backend in a real browser (headless Chromium): the generated SIMD module compiles and runs there,
 * the threading mode follows the page (without cross-origin isolation there is no SharedArrayBuffer, so it runs
 * single-threaded; with it, Web Workers share the memory), and results match the CPU backend in the same page.
 */
import { describe, expect, it } from 'vitest';
import '../../src/backends/cpu/backend.ts';
import * as ops from '../../src/ops/index.ts';
import { tensor } from '../../src/tensor.ts';
import type { Tensor } from '../../src/tensor.ts';
import { initCpuWasm } from '../../src/backends/wasm/index.ts';

const be = await initCpuWasm();

const vals = (n: number, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 * k) + 0.1 * k);
const both = (v: number[], shape: number[], dtype: 'float32' | 'float16' = 'float32'): [Tensor, Tensor] => [
  tensor(v, { shape, dtype, backend: 'cpu' }),
  tensor(v, { shape, dtype, backend: 'cpu-wasm' }),
];

async function close(got: Tensor, want: Tensor, tol = 1e-5): Promise<void> {
  const a = await got.data();
  const b = await want.data();
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
}

describe('cpu-wasm in the browser', () => {
  it('chooses its threading mode from the page', () => {
    const info = be.info();
    console.log(`cpu-wasm in the browser: ${String(info.mode)}`);
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    expect(info.sharedMemory).toBe(isolated && typeof SharedArrayBuffer !== 'undefined');
    if (!info.sharedMemory) {
      expect(info.threads).toBe(1);
      expect(String(info.mode)).toMatch(/single-threaded/);
    } else expect(String(info.mode)).toMatch(/Web Workers/);
  });

  it('matmul (GEMM and f16 GEMV), conv2d, softmax and layer norm match the CPU backend', async () => {
    const [a, wa] = both(vals(70 * 50), [70, 50]);
    const [b, wb] = both(vals(50 * 40, 2), [50, 40]);
    await close(ops.matmul(wa, wb), ops.matmul(a, b));
    const [x, wx] = both(vals(300), [1, 300], 'float16');
    const [w, ww] = both(vals(300 * 70, 3), [70, 300], 'float16');
    await close(ops.linear(wx, ww), ops.linear(x, w), 2e-3);
    const [im, wim] = both(vals(2 * 3 * 9 * 9), [2, 3, 9, 9]);
    const [f, wf] = both(vals(4 * 3 * 3 * 3, 4), [4, 3, 3, 3]);
    await close(ops.conv2d(wim, wf, null, { padding: 1 }), ops.conv2d(im, f, null, { padding: 1 }));
    await close(ops.softmax(wa, -1), ops.softmax(a, -1));
    await close(ops.layerNorm(wa, [50]), ops.layerNorm(a, [50]));
    // Large enough to be split across the threads when there are several (equal to one thread's result).
    const [c, wc] = both(vals(128 * 256, 5), [128, 256]);
    const [d, wd] = both(vals(256 * 256, 6), [256, 256]);
    await close(ops.matmul(wc, wd), ops.matmul(c, d));
    expect(be.counts.simd).toBeGreaterThanOrEqual(6);
  });
});
