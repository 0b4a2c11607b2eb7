/** The optimiser base: parameter groups with per-group options, per-parameter state, zeroGrad, dispose. */
import type { Tensor } from '../tensor.ts';

export class OptimizerError extends Error {
  override name = 'OptimizerError';
}

/** A set of parameters with its own options (e.g. no weight decay for norms and biases). */
export type ParamGroup<O> = { params: Tensor[] } & Partial<O>;

export type ResolvedGroup<O> = { params: Tensor[]; initialLr: number } & O & { lr: number };

export abstract class Optimizer<O extends { lr: number }> {
  readonly groups: ResolvedGroup<O>[];
  protected readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  constructor(params: readonly Tensor[] | readonly ParamGroup<O>[], defaults: O) {
    const list = params as readonly (Tensor | ParamGroup<O>)[];
    const groups: ParamGroup<O>[] = list.length && !('params' in list[0]) ? [{ params: [...(list as Tensor[])] } as ParamGroup<O>] : [...(list as ParamGroup<O>[])];
    const seen = new Set<Tensor>();
    this.groups = groups.map((g) => {
      for (const p of g.params) {
        if (seen.has(p)) throw new OptimizerError('a parameter appears in more than one group: give each parameter to one group');
        seen.add(p);
        if (!p.requiresGrad) throw new OptimizerError(`parameter ${p.name ?? `#${p.id}`} does not require grad: freeze it by leaving it out of the optimiser`);
      }
      const o = { ...defaults, ...g, params: [...g.params] } as unknown as ResolvedGroup<O>;
      o.initialLr = o.lr;
      this.validate(o);
      return o;
    });
  }

  protected validate(_g: ResolvedGroup<O>): void {}

  /** The learning rate of the first group; setting it sets every group's. */
  get lr(): number {
    return this.groups[0]?.lr ?? 0;
  }
  set lr(v: number) {
    for (const g of this.groups) g.lr = v;
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.groups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Applies one update to every parameter that has a gradient, in place. */
  abstract step(): void;

  /** Frees the optimiser state (moment buffers). */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v === 'object') v.dispose();
    this.state.clear();
  }
}
