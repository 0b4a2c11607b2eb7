/**
 * The kernel contracts (kernels.ts). The `@ts-expect-error` lines are the test of the types: `tsc` fails if any of
 * them compiles (a misspelt kernel name, a wrong attr type, a missing attr, a wrong backend or kernel form). The
 * runtime cases check that every backend registers every kernel of the contract.
 */
import { describe, expect, it } from 'vitest';
import { getBackend, type View } from './backend.ts';
import { getKernel, kernelNames, registerKernel, type KernelName } from './kernels.ts';
import { run, runInto } from './ops/dispatch.ts';
import { UNARY, BINARY, type UnaryName, type BinaryName } from './ops/elementwise/table.ts';
import type { Tensor } from './tensor.ts';
import { availableBackends } from './testing/backends.ts';
import './index.ts'; // registers every op's CPU kernel

/** Never called: only compiled. */
export function contractViolations(x: Tensor, v: View): void {
  // @ts-expect-error misspelt kernel name
  run('matmull', [x, x], [{ shape: [1], dtype: 'float32' }], {});
  // @ts-expect-error misspelt elementwise row
  run('unary:sigmoidd', [x], [{ shape: [1], dtype: 'float32' }], {});
  // @ts-expect-error reduce's dims is a list of numbers
  run('reduce', [x], [{ shape: [1], dtype: 'float32' }], { op: 'sum', dims: 'all' });
  // @ts-expect-error 'mean' is not a reduce kernel op (mean is composite)
  run('reduce', [x], [{ shape: [1], dtype: 'float32' }], { op: 'mean', dims: [0] });
  // @ts-expect-error conv2d needs its attrs
  run('conv2d', [x, x], [{ shape: [1], dtype: 'float32' }], {});
  // @ts-expect-error sort's k is a number
  run('sort', [x], [{ shape: [1], dtype: 'float32' }], { descending: true, k: '3' });
  // @ts-expect-error an attr the kernel does not take
  runInto('copy', [x], [x], { dim: 0 });
  // @ts-expect-error registering a kernel under a name outside the contract
  registerKernel('cpu', 'matmul_relu', () => {});
  // @ts-expect-error an unknown backend
  registerKernel('gpu', 'matmul', () => {});
  // @ts-expect-error a cpu-wasm kernel returns whether it ran (false declines to the readable kernel)
  registerKernel('cpu-wasm', 'matmul', () => {});
  // @ts-expect-error the kernel sees its attrs typed: norm_rows' eps is a number
  registerKernel('cpu', 'norm_rows', (_i, _o, a) => void (a.eps satisfies string));
  // @ts-expect-error capability queries take kernel names too
  getBackend('cpu').supports('convv2d', 'float32');
  // @ts-expect-error misspelt kernel name in a registry lookup
  getKernel('webgpu', 'interpolate_bwd');
  void v;
}

const ALL = {
  copy: true, where: true, reduce: true, cumsum: true, sort: true, gather: true, scatter_add: true, index_add: true, index_select: true,
  matmul: true, matmul_bias_act: true, sdpa: true, norm_rows: true, norm_rows_backward: true, conv2d: true, conv2d_grad_input: true,
  conv2d_grad_weight: true, max_pool2d: true, max_pool2d_backward: true, avg_pool2d: true, avg_pool2d_backward: true, interpolate: true,
  interpolate_backward: true, grid_sample: true, grid_sample_backward: true, ms_deform_attn: true, ms_deform_attn_backward: true,
  fused: true, adamw_step: true,
} satisfies Record<Exclude<KernelName, `unary:${string}` | `binary:${string}`>, true>;

/** Every kernel name of the contract (the record above must list each non-elementwise one, or tsc fails). */
const NAMES: KernelName[] = [
  ...(Object.keys(ALL) as KernelName[]),
  ...(Object.keys(UNARY) as UnaryName[]).map((n) => `unary:${n}` as const),
  ...(Object.keys(BINARY) as BinaryName[]).map((n) => `binary:${n}` as const),
];

describe.each(await availableBackends())('kernel contract on %s', (backend) => {
  it('the backend registers every kernel of the contract and nothing else', () => {
    const here = backend === 'cpu-wasm' ? 'cpu' : backend; // cpu-wasm runs the CPU kernels where it has no SIMD one
    expect(kernelNames(here as 'cpu' | 'webgpu').sort()).toEqual([...NAMES].sort());
    for (const k of NAMES) expect(getBackend(backend).supports(k, 'float32'), k).toBe(true);
  });
});
