/** softmax and log_softmax along a dim, as compositions (stable: the max is subtracted first). */
import { noGrad } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import type { Tensor } from '../../tensor.ts';
import { max, sum } from '../reduce/reduce.ts';

export function softmax(x: Tensor, dim = -1): Tensor {
  return tidy(() => {
  const m = noGrad(() => {
    const mx = max(x, dim, true);
    return mx.where(mx.isinf().logicalNot(), 0);
  });
  const e = x.sub(m).exp();
  return e.div(sum(e, dim, true));
  });
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return tidy(() => {
  const m = noGrad(() => {
    const mx = max(x, dim, true);
    return mx.where(mx.isinf().logicalNot(), 0);
  });
  const s = x.sub(m);
  return s.sub(sum(s.exp(), dim, true).log());
  });
}
