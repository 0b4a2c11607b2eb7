/** Gradient clipping by the global norm over all gradients (torch.nn.utils.clip_grad_norm_). */
import { noGrad } from '../autograd/engine.ts';
import { tidy } from '../memory.ts';
import type { Tensor } from '../tensor.ts';
import { full } from '../tensor.ts';
import { copyInto } from '../ops/copy/copy.ts';
import { stack } from '../ops/join/join.ts';
import { OptimizerError } from './optimizer.ts';

/**
 * Scales every gradient in place by min(1, maxNorm / (total + 1e-6)) where total is the norm of all gradients
 * together (normType 2 or Infinity). Returns the total norm (a float32 scalar tensor) before clipping.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, normType = 2): Tensor {
  if (normType !== 2 && normType !== Infinity) throw new OptimizerError(`clipGradNorm supports normType 2 and Infinity, got ${normType}`);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => !!g);
  return noGrad(() =>
    tidy(() => {
      if (grads.length === 0) return full([], 0, { backend: params[0]?.backend });
      const parts = grads.map((g) => (normType === 2 ? g.toFloat().square().sum() : g.toFloat().abs().max())); // [] each
      const all = stack(parts);
      const total = normType === 2 ? all.sum().sqrt() : all.max(); // []
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1); // []
      for (const g of grads) copyInto(g, g.mul(coef));
      return total;
    }),
  );
}
