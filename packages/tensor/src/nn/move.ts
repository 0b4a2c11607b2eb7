/** Moving tensors between backends (download from one, upload to the other). */
import type { Backend } from '../backend.ts';
import type { Tensor } from '../tensor.ts';
import { fromStorageArray, gatherView } from '../tensor.ts';

/** A contiguous copy of `t` on `backend` (same dtype, not attached to the autograd graph). */
export async function moveTensor(t: Tensor, backend: Backend): Promise<Tensor> {
  t.assertAlive();
  const raw = await t.backend.download(t.storage);
  return fromStorageArray(gatherView(raw, t.dtype, t.shape, t.strides, t.offset).slice(), t.shape, t.dtype, { backend });
}

/** Like moveTensor, for source backends that can read synchronously (the CPU). */
export function moveTensorSync(t: Tensor, backend: Backend): Tensor {
  t.assertAlive();
  if (!t.backend.readSync) throw new TypeError(`the '${t.backend.name}' backend cannot be read synchronously`);
  const raw = t.backend.readSync(t.storage);
  return fromStorageArray(gatherView(raw, t.dtype, t.shape, t.strides, t.offset).slice(), t.shape, t.dtype, { backend });
}
