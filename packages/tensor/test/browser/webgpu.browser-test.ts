/**
 * The WebGPU backend in a real browser (headless Chromium, SwiftShader): a few ops and a gradient against the CPU
 * backend in the same page. Small shapes: SwiftShader is slow. The heavy consistency suite runs in Node.
 */
import { describe, expect, it } from 'vitest';
import '../../src/backends/cpu/backend.ts';
import * as ops from '../../src/ops/index.ts';
import { tensor } from '../../src/tensor.ts';
import type { Tensor } from '../../src/tensor.ts';
import { getBackend } from '../../src/backend.ts';
import { backendInfo, initWebGPU } from '../../src/backends/webgpu/index.ts';
import { rt } from '../../src/backends/webgpu/backend.ts';

await initWebGPU();

const vals = (n: number, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 * k) + 0.1 * k);
const both = (v: number[], shape: number[]): [Tensor, Tensor] => [tensor(v, { shape, backend: 'cpu' }), tensor(v, { shape, backend: 'webgpu' })];

async function close(gpu: Tensor, cpu: Tensor, tol = 1e-4): Promise<void> {
  const a = await gpu.data();
  const b = await cpu.data();
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
}

describe('webgpu in the browser', () => {
  it('runs on navigator.gpu and reports the adapter', () => {
    const info = backendInfo();
    expect(info.backend).toBe('webgpu');
    expect(Array.isArray(info.features)).toBe(true);
    // SwiftShader has no shader-f16: float16 kernels must say so instead of failing.
    const f16 = (info.features as string[]).includes('shader-f16');
    expect(getBackend('webgpu').supports('matmul', 'float16')).toBe(f16);
  });

  it('elementwise, reductions and matmul match the CPU', async () => {
    const [ac, ag] = both(vals(24), [4, 6]);
    const [bc, bg] = both(vals(6, 2), [6]);
    await close(ag.mul(bg).add(1).gelu(), ac.mul(bc).add(1).gelu());
    await close(ag.sum(1), ac.sum(1));
    await close(ag.argmax(1), ac.argmax(1), 0);
    const [mc, mg] = both(vals(6 * 9, 3), [6, 9]);
    await close(ag.matmul(mg), ac.matmul(mc));
    await close(ops.softmax(ag, -1), ops.softmax(ac, -1));
  });

  it('norms, conv2d and attention match the CPU', async () => {
    const [xc, xg] = both(vals(2 * 3 * 5 * 5), [2, 3, 5, 5]);
    const [wc, wg] = both(vals(4 * 3 * 3 * 3, 5), [4, 3, 3, 3]);
    await close(ops.conv2d(xg, wg, null, { padding: 1 }), ops.conv2d(xc, wc, null, { padding: 1 }));
    await close(ops.layerNorm(xg, [5]), ops.layerNorm(xc, [5]));
    const [qc, qg] = both(vals(2 * 3 * 8, 7), [1, 2, 3, 8]);
    await close(ops.scaledDotProductAttention(qg, qg, qg, { isCausal: true }), ops.scaledDotProductAttention(qc, qc, qc, { isCausal: true }));
  });

  it('gradients through backward match the CPU', async () => {
    const grads: Tensor[] = [];
    for (const backend of ['cpu', 'webgpu']) {
      const w = tensor(vals(12, 4), { shape: [3, 4], backend, requiresGrad: true });
      const x = tensor(vals(6, 6), { shape: [2, 3], backend });
      x.matmul(w).tanh().square().sum().backward();
      grads.push(w.grad!);
    }
    await close(grads[1], grads[0]);
  });

  it('fused chains, the bias+activation GEMM epilogue, 1x1 conv and prefill attention match the CPU', async () => {
    const r = rt();
    r.variants.clear();
    const [xc, xg] = both(vals(5 * 12), [5, 12]);
    const [wc, wg] = both(vals(7 * 12, 3), [7, 12]);
    const [bc, bg] = both(vals(7, 4), [7]);
    await close(ops.linear(xg, wg, bg, { activation: 'quick_gelu' }), ops.linear(xc, wc, bc, { activation: 'quick_gelu' }));
    const swiglu = ops.fuse((g, u) => g.silu().mul(u).add(0.5));
    await close(swiglu(xg, xg.neg()), swiglu(xc, xc.neg()));
    const [ic, ig] = both(vals(2 * 3 * 5 * 4, 5), [2, 3, 5, 4]);
    const [kc, kg] = both(vals(6 * 3, 6), [6, 3, 1, 1]);
    await close(ops.conv2d(ig, kg), ops.conv2d(ic, kc));
    const [qc, qg] = both(vals(2 * 16 * 8, 7), [1, 2, 16, 8]);
    await close(ops.scaledDotProductAttention(qg, qg, qg, { isCausal: true }), ops.scaledDotProductAttention(qc, qc, qc, { isCausal: true }));
    const want = ['matmul:epilogue', 'conv2d:1x1-gemm', r.cpuAdapter ? 'sdpa:gemm' : 'sdpa:tiled'];
    expect(want.filter((v) => !r.variants.has(v))).toEqual([]);
  });

  it('adapter-dependent variants (vec4, split-K matmul and decode attention, subgroups and their fallback) match the CPU', async () => {
    const r = rt();
    r.variants.clear();
    const [ac, ag] = both(vals(8 * 4096, 3), [8, 4096]);
    const [bc, bg] = both(vals(4096 * 8, 5), [4096, 8]);
    await close(ag.matmul(bg), ac.matmul(bc), 1e-3);
    await close(ag.mul(ag).add(2), ac.mul(ac).add(2));
    const [qc, qg] = both(vals(2 * 2 * 8, 2), [1, 2, 2, 8]);
    const [kc, kg] = both(vals(600 * 8, 9), [1, 1, 600, 8]);
    const sgModes = r.features.has('subgroups') ? [true, false] : [false];
    for (const sg of sgModes) {
      r.useSubgroups = sg;
      await close(ops.scaledDotProductAttention(qg, kg, kg, { isCausal: true }), ops.scaledDotProductAttention(qc, kc, kc, { isCausal: true }));
      await close(ag.sum(1), ac.sum(1), 1e-3);
      await close(ag.argmax(1), ac.argmax(1), 0);
      await close(ops.layerNorm(ag, [4096]), ops.layerNorm(ac, [4096]), 1e-3);
    }
    r.useSubgroups = r.features.has('subgroups');
    // split-K runs the NN tile, or on CPU adapters with subgroups (SwiftShader) the broadcast GEMM tile
    const splitK = r.variants.has('matmul:splitk-bcast') ? 'matmul:splitk-bcast' : 'matmul:splitk-nn';
    const want = [splitK, 'elementwise:vec4', 'sdpa:split', 'reduce:workgroup', 'norm_rows:workgroup'];
    if (sgModes.length > 1) want.push('sdpa:split-subgroup', 'reduce:subgroup', 'norm_rows:subgroup');
    expect(want.filter((v) => !r.variants.has(v))).toEqual([]);
    console.log(`browser variants: ${[...r.variants].sort().join(', ')}; features: ${[...r.features].sort().join(', ')}`);
  });
});
