/** maskedFill: torch.masked_fill (out of place), a composite of `where` (no kernel of its own). */
import { ShapeError } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { where } from '../elementwise/elementwise.ts';

/**
 * x with `value` wherever the bool `mask` (broadcast against x) is true. The result keeps x's dtype and shape
 * (mask must broadcast to x, not enlarge it). Gradient: g where the mask is false, 0 where it is true.
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (mask.dtype !== 'bool') throw new ShapeError(`maskedFill: mask must be bool, got ${mask.dtype}: build it with a comparison (x.gt(0)) or .to('bool')`);
  if (mask.rank > x.rank || mask.shape.some((s, i) => s !== 1 && s !== x.shape[x.rank - mask.rank + i])) {
    throw new ShapeError(`maskedFill: mask [${mask.shape.join(', ')}] does not broadcast to the input [${x.shape.join(', ')}]`);
  }
  return where(mask, value, x);
}
