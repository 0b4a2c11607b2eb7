/** The fixed gradient weightings make_goldens.py uses, rebuilt as tensors. */
import { arange } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';

/** cos(arange(n)).reshape(shape), on `like`'s backend. */
export function cosWeights(like: Tensor): Tensor {
  return arange(like.numel, undefined, 1, { dtype: 'float32', backend: like.backend }).cos().reshape(like.shape);
}

export function sinWeights(like: Tensor): Tensor {
  return arange(like.numel, undefined, 1, { dtype: 'float32', backend: like.backend }).sin().reshape(like.shape);
}

/** torch.linspace(-1, 1, n).reshape(shape). */
export function linspaceWeights(like: Tensor): Tensor {
  // Built on the CPU in float32 like torch, then moved.
  const n = like.numel;
  const step = n > 1 ? 2 / (n - 1) : 0;
  const half = Math.floor(n / 2);
  const vals = Float32Array.from({ length: n }, (_, i) => (i < half ? -1 + step * i : 1 - step * (n - 1 - i)));
  return tensorOn(vals, like);
}

import { fromStorageArray } from '@segllm/tensor';
function tensorOn(vals: Float32Array, like: Tensor): Tensor {
  return fromStorageArray(vals, like.shape, 'float32', { backend: like.backend });
}
