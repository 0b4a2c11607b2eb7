/**
 * SGD with momentum, dampening, Nesterov and (L2, coupled) weight decay, as torch.optim.SGD:
 *   d = g + wd*p;  buf = d (first step) | momentum*buf + (1-dampening)*d;  d = nesterov ? d + momentum*buf : buf;
 *   p -= lr * d
 */
import { noGrad } from '../autograd/engine.ts';
import { keep, tidy } from '../memory.ts';
import type { Tensor } from '../tensor.ts';
import { clone, copyInto } from '../ops/copy/copy.ts';
import type { ParamGroup, ResolvedGroup } from './optimizer.ts';
import { Optimizer, OptimizerError } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: readonly Tensor[] | readonly ParamGroup<SGDOptions>[], opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...opts });
  }

  protected override validate(g: ResolvedGroup<SGDOptions>): void {
    if (!(g.lr >= 0)) throw new OptimizerError(`SGD: invalid learning rate ${g.lr}`);
    if (!(g.momentum >= 0)) throw new OptimizerError(`SGD: invalid momentum ${g.momentum}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new OptimizerError('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }

  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          tidy(() => {
            let d = p.grad!.to(p.dtype);
            if (g.weightDecay !== 0) d = d.add(p.mul(g.weightDecay));
            if (g.momentum !== 0) {
              const s = this.state.get(p);
              let buf = s?.momentum_buffer as Tensor | undefined;
              if (!buf) {
                buf = keep(clone(d));
                this.state.set(p, { momentum_buffer: buf });
              } else copyInto(buf, buf.mul(g.momentum).add(d.mul(1 - g.dampening)));
              d = g.nesterov ? d.add(buf.mul(g.momentum)) : buf;
            }
            copyInto(p, p.sub(d.mul(g.lr)));
          });
        }
      }
    });
  }
}
