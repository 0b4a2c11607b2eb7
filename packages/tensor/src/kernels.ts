/**
 * Kernel contracts and the one kernel registry of every backend. `KernelAttrs` names every kernel and the attrs it
 * takes; `run('name', ..., attrs)`, `registerKernel(backend, 'name', fn)` and `supports('name', dtype)` are checked
 * against it, so a misspelt kernel name or an attr of the wrong type fails `tsc` (see kernels.typecheck.test.ts).
 *
 * An op folder registers its CPU kernel beside its definition; the WebGPU backend registers WGSL kernels by family
 * under `backends/webgpu/kernels/`; the WASM backend registers SIMD kernels under `backends/wasm/ops/` (a SIMD
 * kernel may decline a case, and the CPU kernel then runs on the same memory). `supports(op, dtype)` derives from it.
 */
import type { View } from './backend.ts';
import type { DType } from './dtype.ts';
import type { BinaryName, UnaryName } from './ops/elementwise/table.ts';
import type { FusedStep } from './ops/fused/fused.ts';
import type { ReduceOp } from './ops/reduce/reduce.ts';
import type { Activation } from './ops/matmul/linear.ts';
import type { WasmRuntime } from './backends/wasm/runtime.ts';

/** A kernel that takes no attrs. */
export type NoAttrs = Record<string, never>;
type Pair = readonly [number, number] | readonly number[];

/** conv2d and its two backward kernels. */
export type ConvAttrs = { stride: Pair; padding: Pair; dilation: Pair; groups: number };
export type MaxPoolAttrs = { kernel: Pair; stride: Pair; padding: Pair; dilation?: Pair };
export type AvgPoolAttrs = { kernel: Pair; stride: Pair; padding: Pair; countIncludePad: boolean; dilation?: never };
export type InterpolateAttrs = { mode: 'nearest' | 'bilinear'; alignCorners: boolean; scales: readonly (number | null)[] };
export type GridSampleAttrs = { paddingMode: 'zeros' | 'border'; alignCorners: boolean };
/** `starts[l]`: the first row of level l in the flattened value tensor. */
export type MsDeformAttrs = { shapes: readonly (readonly [number, number] | readonly number[])[]; starts: readonly number[] };
export type AdamWAttrs = { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; amsgrad: boolean };
/** `p`, `q`: the op parameters a unary row's forms read (clamp bounds, pow exponent, leaky slope, ...). */
export type UnaryAttrs = { p?: number; q?: number };

type UnaryKernels = { [N in UnaryName as `unary:${N}`]: UnaryAttrs };
type BinaryKernels = { [N in BinaryName as `binary:${N}`]: NoAttrs };

/** Every kernel by name, with its attrs. Inputs and outputs are documented in the op folder that defines the kernel. */
export type KernelAttrs = UnaryKernels &
  BinaryKernels & {
    copy: NoAttrs;
    where: NoAttrs;
    reduce: { op: ReduceOp; dims: readonly number[] };
    cumsum: { dim: number; reverse: boolean };
    sort: { descending: boolean; k: number };
    gather: { dim: number };
    scatter_add: { dim: number };
    index_add: { dim: number };
    /** `op` names the caller in out-of-range errors. */
    index_select: { dim: number; op?: string };
    matmul: NoAttrs;
    matmul_bias_act: { activation: Activation };
    sdpa: { scale: number; causal: boolean };
    norm_rows: { eps: number; rms: boolean };
    norm_rows_backward: { rms: boolean };
    conv2d: ConvAttrs;
    conv2d_grad_input: ConvAttrs;
    conv2d_grad_weight: ConvAttrs;
    max_pool2d: MaxPoolAttrs;
    max_pool2d_backward: MaxPoolAttrs;
    avg_pool2d: AvgPoolAttrs;
    avg_pool2d_backward: AvgPoolAttrs;
    interpolate: InterpolateAttrs;
    interpolate_backward: InterpolateAttrs;
    grid_sample: GridSampleAttrs;
    grid_sample_backward: GridSampleAttrs;
    ms_deform_attn: MsDeformAttrs;
    ms_deform_attn_backward: MsDeformAttrs;
    fused: { program: readonly FusedStep[] };
    adamw_step: AdamWAttrs;
  };

export type KernelName = keyof KernelAttrs;

/** A kernel: reads `inputs`, writes `outputs` (fresh contiguous tensors, or views for in-place kernels). */
export type KernelFn<K extends KernelName = KernelName> = (inputs: View[], outputs: View[], attrs: KernelAttrs[K]) => void;
/** A WASM SIMD kernel: returns false to decline (the readable CPU kernel then runs on the same memory). */
export type WasmKernelFn<K extends KernelName = KernelName> = (rt: WasmRuntime, inputs: View[], outputs: View[], attrs: KernelAttrs[K]) => boolean;

/** The kernel form each backend registers. */
interface KernelForms<K extends KernelName> {
  cpu: KernelFn<K>;
  webgpu: KernelFn<K>;
  'cpu-wasm': WasmKernelFn<K>;
}
export type KernelBackend = keyof KernelForms<KernelName>;

export interface KernelEntry<B extends KernelBackend = KernelBackend, K extends KernelName = KernelName> {
  fn: KernelForms<K>[B];
  /** dtypes the kernel accepts (of its first input, or output when it has none); undefined = all. */
  dtypes?: readonly DType[];
  /** CPU only: the kernel reads/writes float16/bfloat16 words itself (otherwise the backend widens to f32). */
  half?: boolean;
}

const registry = new Map<KernelBackend, Map<KernelName, KernelEntry>>();

export function registerKernel<B extends KernelBackend, K extends KernelName>(
  backend: B,
  op: K,
  fn: KernelForms<K>[B],
  opts: Omit<KernelEntry<B, K>, 'fn'> = {},
): void {
  let m = registry.get(backend);
  if (!m) registry.set(backend, (m = new Map<KernelName, KernelEntry>()));
  m.set(op, { fn, ...opts } as KernelEntry);
}

export function getKernel<B extends KernelBackend, K extends KernelName>(backend: B, op: K): KernelEntry<B, K> | undefined {
  return registry.get(backend)?.get(op) as KernelEntry<B, K> | undefined;
}

export function kernelNames(backend: KernelBackend): KernelName[] {
  return [...(registry.get(backend)?.keys() ?? [])];
}
