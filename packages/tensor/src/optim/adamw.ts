/**
 * AdamW (decoupled weight decay), PyTorch's defaults and update formula:
 *   p *= 1 - lr*wd;  m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g^2;  (amsgrad: vmax = max(vmax, v), used for v)
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * Kernel `adamw_step`: inputs [grad]; outputs (updated in place) [param, exp_avg, exp_avg_sq] plus
 * [max_exp_avg_sq] when attrs.amsgrad; all contiguous with the same element count; attrs {lr, beta1, beta2, eps,
 * weightDecay, step, amsgrad}. Backends without it get the same update composed from elementwise ops.
 */
import { registerKernel } from '../kernels.ts';
import { arr } from '../backends/cpu/backend.ts';
import { noGrad } from '../autograd/engine.ts';
import { tidy } from '../memory.ts';
import type { Tensor } from '../tensor.ts';
import { zerosLike } from '../tensor.ts';
import { runInto } from '../ops/dispatch.ts';
import { contiguous, copyInto } from '../ops/copy/copy.ts';
import type { ParamGroup, ResolvedGroup } from './optimizer.ts';
import { Optimizer, OptimizerError } from './optimizer.ts';

registerKernel(
  'cpu',
  'adamw_step',
  ([grad], [param, m, v, vmax], a) => {
    const g = arr(grad);
    const p = arr(param);
    const ms = arr(m);
    const vs = arr(v);
    const vm = vmax ? arr(vmax) : null;
    const { lr, beta1, beta2, eps, weightDecay, step } = a;
    const decay = 1 - lr * weightDecay;
    const stepSize = lr / (1 - beta1 ** step);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
    const [go, po, mo, vo, xo] = [grad.offset, param.offset, m.offset, v.offset, vmax?.offset ?? 0];
    const n = param.shape.reduce((x, y) => x * y, 1);
    for (let i = 0; i < n; i++) {
      const gi = g[go + i];
      const pi = p[po + i] * decay;
      const mi = ms[mo + i] + (1 - beta1) * (gi - ms[mo + i]);
      const vi = beta2 * vs[vo + i] + (1 - beta2) * gi * gi;
      ms[mo + i] = mi;
      vs[vo + i] = vi;
      let vd = vi;
      if (vm) {
        vd = Math.max(vm[xo + i], vi);
        vm[xo + i] = vd;
      }
      p[po + i] = pi - (stepSize * mi) / (Math.sqrt(vd) / bc2Sqrt + eps);
    }
  },
  { dtypes: ['float32', 'float64'] },
);

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: readonly Tensor[] | readonly ParamGroup<AdamWOptions>[], opts: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, ...opts });
  }

  protected override validate(g: ResolvedGroup<AdamWOptions>): void {
    if (!(g.lr >= 0)) throw new OptimizerError(`AdamW: invalid learning rate ${g.lr}`);
    if (!(g.eps >= 0)) throw new OptimizerError(`AdamW: invalid eps ${g.eps}`);
    if (!g.betas.every((b) => b >= 0 && b < 1)) throw new OptimizerError(`AdamW: betas must be in [0, 1), got ${g.betas.join(', ')}`);
    if (!(g.weightDecay >= 0)) throw new OptimizerError(`AdamW: invalid weight decay ${g.weightDecay}`);
  }

  /** Testing hook: use the elementwise composition even where the backend has `adamw_step`. */
  static forceComposite = false;

  /** The moment buffers of `p` (after its first step). */
  stateOf(p: Tensor): { step: number; exp_avg: Tensor; exp_avg_sq: Tensor; max_exp_avg_sq?: Tensor } | undefined {
    return this.state.get(p) as ReturnType<AdamW['stateOf']>;
  }

  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          if (!p.isContiguous) throw new OptimizerError('AdamW updates contiguous parameters in place: make the parameter contiguous when creating it');
          let s = this.state.get(p);
          if (!s) {
            s = { step: 0, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
            if (g.amsgrad) s.max_exp_avg_sq = zerosLike(p);
            this.state.set(p, s);
          }
          s.step = (s.step as number) + 1;
          const bufs = [s.exp_avg, s.exp_avg_sq, ...(g.amsgrad ? [s.max_exp_avg_sq] : [])] as Tensor[];
          const attrs = { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay, step: s.step, amsgrad: g.amsgrad };
          tidy(() => {
            const grad = p.grad!.dtype === p.dtype ? contiguous(p.grad!) : contiguous(p.grad!.to(p.dtype));
            if (p.backend.supports('adamw_step', p.dtype) && !AdamW.forceComposite) runInto('adamw_step', [grad], [p, ...bufs], attrs);
            else composite(grad, p, bufs, attrs);
          });
        }
      }
    });
  }
}

/** The same update from elementwise ops, for backends without an `adamw_step` kernel. */
function composite(grad: Tensor, p: Tensor, [m, v, vmax]: Tensor[], a: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number }): void {
  const decayed = p.mul(1 - a.lr * a.weightDecay);
  copyInto(m, m.add(grad.sub(m).mul(1 - a.beta1)));
  copyInto(v, v.mul(a.beta2).add(grad.square().mul(1 - a.beta2)));
  let vd = v;
  if (vmax) {
    copyInto(vmax, vmax.maximum(v));
    vd = vmax;
  }
  const denom = vd.sqrt().div(Math.sqrt(1 - a.beta2 ** a.step)).add(a.eps);
  copyInto(p, decayed.sub(m.div(denom).mul(a.lr / (1 - a.beta1 ** a.step))));
}
