/**
 * Kernel registry: each backend looks up its implementation of an op by name here. An op folder registers its CPU
 * kernel beside its definition; the WebGPU backend registers WGSL kernels. `supports(op, dtype)` derives from it.
 */
import type { Attrs, View } from './backend.ts';
import type { DType } from './dtype.ts';

export type KernelFn = (inputs: View[], outputs: View[], attrs: Attrs) => void;

export interface KernelEntry {
  fn: KernelFn;
  /** dtypes the kernel accepts (of its first input, or output when it has none); undefined = all. */
  dtypes?: readonly DType[];
  /** CPU only: the kernel reads/writes float16/bfloat16 words itself (otherwise the backend widens to f32). */
  half?: boolean;
}

const registry = new Map<string, Map<string, KernelEntry>>();

export function registerKernel(backend: string, op: string, fn: KernelFn, opts: Omit<KernelEntry, 'fn'> = {}): void {
  let m = registry.get(backend);
  if (!m) registry.set(backend, (m = new Map<string, KernelEntry>()));
  m.set(op, { fn, ...opts });
}

export function getKernel(backend: string, op: string): KernelEntry | undefined {
  return registry.get(backend)?.get(op);
}

export function kernelNames(backend: string): string[] {
  return [...(registry.get(backend)?.keys() ?? [])];
}
