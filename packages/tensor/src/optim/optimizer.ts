/** The optimiser base: parameter groups with per-group options, per-parameter state, zeroGrad, dispose. */
import type { Tensor } from '../tensor.ts';
import { tidy } from '../memory.ts';

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

  /**
   * The per-parameter state keyed by `<name>.<field>` (tensors) and `<name>.<field>` (numbers, e.g. step), with
   * `names` giving each parameter's name; what checkpoints store to resume exactly.
   */
  exportState(names: ReadonlyMap<Tensor, string>): { tensors: Map<string, Tensor>; numbers: Record<string, number> } {
    const tensors = new Map<string, Tensor>();
    const numbers: Record<string, number> = {};
    for (const [p, s] of this.state) {
      const name = names.get(p);
      if (name === undefined) throw new OptimizerError(`exportState: parameter #${p.id} has no name in the map`);
      for (const [k, v] of Object.entries(s)) {
        if (typeof v === 'number') numbers[`${name}.${k}`] = v;
        else tensors.set(`${name}.${k}`, v);
      }
    }
    return { tensors, numbers };
  }

  /** Restores what exportState wrote (copied into fresh buffers of each parameter's dtype; tensors on its backend). */
  importState(names: ReadonlyMap<Tensor, string>, tensors: ReadonlyMap<string, Tensor>, numbers: Readonly<Record<string, number>>): void {
    const byName = new Map<string, Tensor>();
    for (const g of this.groups) for (const p of g.params) byName.set(names.get(p) ?? '', p);
    const fresh = new Map<Tensor, Record<string, Tensor | number>>();
    const add = (key: string, v: Tensor | number) => {
      const dot = key.lastIndexOf('.');
      const p = byName.get(key.slice(0, dot));
      if (!p || dot < 0) throw new OptimizerError(`importState: "${key}" names no parameter of this optimiser`);
      const s = fresh.get(p) ?? {};
      if (typeof v !== 'number' && (v.numel !== p.numel || v.backend !== p.backend)) throw new OptimizerError(`importState: "${key}" has ${v.numel} values on ${v.backend.name}, the parameter ${p.numel} on ${p.backend.name}`);
      s[key.slice(dot + 1)] = typeof v === 'number' ? v : tidy(() => v.to(p.dtype).reshape(p.shape).clone());
      fresh.set(p, s);
    };
    for (const [k, v] of tensors) add(k, v);
    for (const [k, v] of Object.entries(numbers)) add(k, v);
    this.dispose();
    for (const [p, s] of fresh) this.state.set(p, s);
  }

  /** Frees the optimiser state (moment buffers). */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v === 'object') v.dispose();
    this.state.clear();
  }
}
