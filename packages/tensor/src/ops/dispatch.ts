/** Allocating outputs and running a kernel on the inputs' backend: the one path every op goes through. */
import type { Backend } from '../backend.ts';
import type { KernelAttrs, KernelName } from '../kernels.ts';
import { UnsupportedError } from '../backend.ts';
import type { DType } from '../dtype.ts';
import type { Shape } from '../shape.ts';
import { numel } from '../shape.ts';
import { Tensor } from '../tensor.ts';

export class DeviceMismatchError extends Error {
  override name = 'DeviceMismatchError';
}

export function backendOf(tensors: readonly Tensor[]): Backend {
  const b = tensors[0].backend;
  for (const t of tensors) {
    t.assertAlive();
    if (t.backend !== b) throw new DeviceMismatchError(`tensors live on '${b.name}' and '${t.backend.name}': move one with toBackend() first`);
  }
  return b;
}

/** A fresh contiguous tensor (contents unspecified). */
export function empty(backend: Backend, shape: Shape, dtype: DType): Tensor {
  return new Tensor(backend.allocate(dtype, numel(shape), shape), shape, undefined, 0, dtype);
}

/** Runs kernel `op` on `inputs` (all on one backend) and returns freshly allocated outputs of the given shapes/dtypes. */
export function run<K extends KernelName>(
  op: K,
  inputs: readonly Tensor[],
  outs: readonly { shape: Shape; dtype: DType }[],
  attrs: KernelAttrs[K],
  backend?: Backend,
): Tensor[] {
  const b = backend ?? backendOf(inputs);
  const probe = inputs[0]?.dtype ?? outs[0].dtype;
  if (!b.supports(op, probe)) throw new UnsupportedError(`the '${b.name}' backend has no '${op}' kernel for ${probe}`);
  const outputs = outs.map((o) => empty(b, o.shape, o.dtype));
  if (outputs.length > 0 && outputs.every((o) => o.numel === 0)) return outputs;
  b.run(
    op,
    inputs.map((t) => t.kernelView()),
    outputs.map((t) => t.kernelView()),
    attrs,
  );
  return outputs;
}

/** Runs kernel `op` writing into existing (possibly strided) output views. */
export function runInto<K extends KernelName>(op: K, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: KernelAttrs[K]): void {
  const b = backendOf([...inputs, ...outputs]);
  const probe = inputs[0]?.dtype ?? outputs[0].dtype;
  if (!b.supports(op, probe)) throw new UnsupportedError(`the '${b.name}' backend has no '${op}' kernel for ${probe}`);
  if (outputs.every((o) => o.numel === 0)) return;
  b.run(
    op,
    inputs.map((t) => t.kernelView()),
    outputs.map((t) => t.kernelView()),
    attrs,
  );
}
