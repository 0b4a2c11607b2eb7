/**
 * Module: the base of every layer. Parameter and buffer names are the checkpoint keys, found by reflection over the
 * module's own fields in assignment order (own parameters, then own buffers, then children, as PyTorch): a field holding a parameter tensor (made with `parameter()`) is a
 * parameter, a field holding a buffer (`buffer()` or `registerBuffer`) is a buffer, a child Module recurses with
 * `field.`, an array of Modules (or of parameters) uses numeric indices (`layers.3.self_attn.q_proj.weight`).
 * Fields holding `null` (an absent bias) and every other value are ignored. Snake_case field names are intended:
 * they mirror the checkpoint keys.
 */
import type { Backend } from '../backend.ts';
import { getBackend } from '../backend.ts';
import type { DType } from '../dtype.ts';
import { isFloat } from '../dtype.ts';
import { noGrad } from '../autograd/engine.ts';
import { fmtShape, shapesEqual } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { cast, copyInto } from '../ops/copy/copy.ts';
import { moveTensor, moveTensorSync } from './move.ts';

const PARAMS = new WeakSet<Tensor>();
const BUFFERS = new WeakMap<Tensor, { persistent: boolean }>();

/** Marks `t` as a trainable parameter (requiresGrad = true) and returns it. */
export function parameter(t: Tensor, requiresGrad = true): Tensor {
  PARAMS.add(t);
  BUFFERS.delete(t);
  t.requiresGrad = requiresGrad;
  return t;
}

/** Marks `t` as a buffer (state that is not trained: running stats, frozen weights). Non-persistent buffers stay out of state dicts. */
export function buffer(t: Tensor, opts: { persistent?: boolean } = {}): Tensor {
  BUFFERS.set(t, { persistent: opts.persistent ?? true });
  PARAMS.delete(t);
  t.requiresGrad = false;
  return t;
}

export function isParameter(t: unknown): t is Tensor {
  return t instanceof Tensor && PARAMS.has(t);
}

/** Where a parameter or buffer lives, so that it can be replaced (toDtype, to). */
interface Slot {
  name: string;
  kind: 'param' | 'buffer';
  persistent: boolean;
  tensor: Tensor;
  set(t: Tensor): void;
}

export class StateDictError extends Error {
  override name = 'StateDictError';
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: { key: string; expected: number[]; got: number[] }[],
    what = 'loadStateDict',
  ) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
    if (mismatched.length) parts.push(`wrong shapes (${mismatched.length}): ${mismatched.map((m) => `${m.key} expects ${fmtShape(m.expected)}, got ${fmtShape(m.got)}`).join(', ')}`);
    super(`${what} failed: ${parts.join('; ')}. Check that the checkpoint matches the model configuration (or strip a key prefix); pass {strict: false} to ignore missing and unexpected keys`);
  }
}

export class ModuleError extends Error {
  override name = 'ModuleError';
}

export interface LoadResult {
  missing: string[];
  unexpected: string[];
}

export type StateDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export function stateDictEntries(sd: StateDict): [string, Tensor][] {
  return sd instanceof Map ? [...(sd as ReadonlyMap<string, Tensor>).entries()] : Object.entries(sd as Record<string, Tensor>);
}

export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics). Set with train()/eval(). */
  training = true;

  /** Registers `t` as a buffer under field `name` (the same as `this.name = buffer(t)`). */
  registerBuffer(name: string, t: Tensor | null, opts: { persistent?: boolean } = {}): void {
    if (t) buffer(t, opts);
    (this as unknown as Record<string, unknown>)[name] = t;
  }

  /**
   * Local state-dict keys this module accepts from a checkpoint without holding them (e.g. FrozenBatchNorm2d
   * ignores `num_batches_tracked`). They are neither loaded nor reported as unexpected.
   */
  protected ignoredStateKeys(): readonly string[] {
    return [];
  }

  /** Direct children, by field name (array elements as `field.i`; Sequential children as `i`). */
  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) yield [k, v];
      else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (v[i] instanceof Module) yield [`${k}.${i}`, v[i] as Module];
    }
  }

  /**
   * This module and every descendant, with dotted names ('' for this one). A module shared by two parents appears
   * under both names (as in PyTorch's state_dict); a field pointing back to an ancestor is not followed.
   */
  *namedModules(prefix = '', ancestors: ReadonlySet<Module> = new Set()): Generator<[string, Module]> {
    yield [prefix, this];
    const path = new Set(ancestors).add(this);
    for (const [k, m] of this.namedChildren()) if (!path.has(m)) yield* m.namedModules(prefix ? `${prefix}.${k}` : k, path);
  }

  /** Own parameters and buffers with their setters. */
  #ownSlots(): Slot[] {
    const out: Slot[] = [];
    const self = this as unknown as Record<string, unknown>;
    const add = (name: string, t: Tensor, set: (t: Tensor) => void) => {
      if (PARAMS.has(t)) out.push({ name, kind: 'param', persistent: true, tensor: t, set });
      else {
        const b = BUFFERS.get(t);
        if (b) out.push({ name, kind: 'buffer', persistent: b.persistent, tensor: t, set });
      }
    };
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Tensor) add(k, v, (t) => (self[k] = t));
      else if (Array.isArray(v)) {
        const a = v as unknown[];
        for (let i = 0; i < a.length; i++) {
          const e = a[i];
          if (e instanceof Tensor) add(`${k}.${i}`, e, (t) => (a[i] = t));
        }
      }
    }
    // PyTorch's order: parameters, then buffers, then children.
    return [...out.filter((s) => s.kind === 'param'), ...out.filter((s) => s.kind === 'buffer')];
  }

  #slots(): Slot[] {
    const out: Slot[] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const s of m.#ownSlots()) out.push({ ...s, name: prefix ? `${prefix}.${s.name}` : s.name });
    }
    return out;
  }

  /** [name, parameter] pairs, each tensor once (a tied weight appears under its first name), like PyTorch. */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const s of this.#slots()) {
      if (s.kind !== 'param' || seen.has(s.tensor)) continue;
      seen.add(s.tensor);
      out.push([s.name, s.tensor]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** [name, buffer] pairs, non-persistent buffers included. */
  namedBuffers(): [string, Tensor][] {
    return this.#slots()
      .filter((s) => s.kind === 'buffer')
      .map((s) => [s.name, s.tensor]);
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Parameters and persistent buffers by checkpoint key. These are the module's own tensors: do not dispose them. */
  stateDict(): Map<string, Tensor> {
    return new Map(this.#slots().filter((s) => s.persistent).map((s) => [s.name, s.tensor]));
  }

  /** Keys the state dict expects, and the keys each module accepts without holding them. */
  #expected(): { slots: Map<string, Slot>; ignored: Set<string> } {
    const slots = new Map(this.#slots().filter((s) => s.persistent).map((s) => [s.name, s]));
    const ignored = new Set<string>();
    for (const [prefix, m] of this.namedModules()) for (const k of m.ignoredStateKeys()) ignored.add(prefix ? `${prefix}.${k}` : k);
    return { slots, ignored };
  }

  /**
   * Copies `sd` into the parameters and buffers (in place: the tensor objects stay the same), casting dtypes and
   * moving between backends. Strict (the default) rejects missing and unexpected keys; wrong shapes are always
   * rejected. One StateDictError lists every bad key.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const { slots, ignored } = this.#expected();
    const entries = stateDictEntries(sd);
    const given = new Set(entries.map(([k]) => k));
    const missing = [...slots.keys()].filter((k) => !given.has(k));
    const unexpected = entries.map(([k]) => k).filter((k) => !slots.has(k) && !ignored.has(k));
    const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
    for (const [k, t] of entries) {
      const s = slots.get(k);
      if (s && !shapesEqual(s.tensor.shape, t.shape)) mismatched.push({ key: k, expected: [...s.tensor.shape], got: [...t.shape] });
    }
    if (mismatched.length || (strict && (missing.length || unexpected.length))) {
      throw new StateDictError(strict ? missing : [], strict ? unexpected : [], mismatched);
    }
    noGrad(() => {
      for (const [k, t] of entries) {
        const s = slots.get(k);
        if (s) assignInto(s.tensor, t);
      }
    });
    return { missing, unexpected };
  }

  /** Casts floating-point parameters and buffers to `dtype` (integer buffers stay). Replaces the tensor objects. */
  toDtype(dtype: DType): this {
    if (!isFloat(dtype)) throw new ModuleError(`toDtype(${dtype}): modules can only be cast to a floating-point dtype`);
    noGrad(() => {
      for (const s of this.#slots()) {
        if (!isFloat(s.tensor.dtype) || s.tensor.dtype === dtype) continue;
        s.set(this.#retag(s, cast(s.tensor, dtype)));
      }
    });
    return this;
  }

  /** Moves every parameter and buffer to `backend` (replaces the tensor objects; build optimisers afterwards). */
  async to(backend: string | Backend): Promise<this> {
    const b = typeof backend === 'string' ? getBackend(backend) : backend;
    for (const s of this.#slots()) {
      if (s.tensor.backend === b) continue;
      s.set(this.#retag(s, await moveTensor(s.tensor, b)));
    }
    return this;
  }

  /** Marks the replacement like the original, disposes the original. */
  #retag(s: Slot, t: Tensor): Tensor {
    if (s.kind === 'param') parameter(t, s.tensor.requiresGrad);
    else buffer(t, { persistent: s.persistent });
    t.name = s.tensor.name;
    s.tensor.dispose();
    return t;
  }

  /** The backend of the first parameter or buffer (the default backend for a stateless module). */
  get backend(): Backend {
    const s = this.#slots()[0];
    return s ? s.tensor.backend : getBackend();
  }

  /** Frees every parameter and buffer (and their gradients). */
  dispose(): void {
    for (const s of this.#slots()) s.tensor.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Writes `src` into `dst` in place, casting to dst's dtype and moving from another backend when needed. */
export function assignInto(dst: Tensor, src: Tensor): void {
  if (src.backend === dst.backend) {
    copyInto(dst, src);
    return;
  }
  if (!src.backend.readSync) {
    throw new ModuleError(`cannot load a tensor from the '${src.backend.name}' backend synchronously: move the state dict to '${dst.backend.name}' (or the CPU) first`);
  }
  const moved = moveTensorSync(src, dst.backend);
  copyInto(dst, moved);
  moved.dispose();
}

/** A layer with a one-tensor forward (what Sequential chains). */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
}
