/** Reverse-mode autograd over the records that ops attach to their outputs. Contains no op-specific code. */
import type { Tensor } from '../tensor.ts';
import type { BackwardFn } from './node.ts';
import { GradNode } from './node.ts';
import { ShapeError, shapesEqual } from '../shape.ts';
import { keep, tidy } from '../memory.ts';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording autograd records (inference, optimiser steps, backward itself). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export interface RecordOptions {
  /** Keep private views of the inputs for the backward rule (default true). */
  saveInputs?: boolean;
  /** Keep a private view of the output for the backward rule. */
  saveOutput?: boolean;
  /** Extra tensors the rule needs. */
  saved?: Tensor[];
}

/** Attaches a backward rule to `out` when gradients are enabled and any input requires them. */
export function record(op: string, inputs: readonly Tensor[], out: Tensor, backward: BackwardFn, opts: RecordOptions = {}): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.node = new GradNode(op, inputs, opts.saved ?? [], backward, opts.saveOutput ? out : null, opts.saveInputs ?? true);
  return out;
}

export class AutogradError extends Error {
  override name = 'AutogradError';
}

/** Topological order (inputs before outputs) of the tensors reachable from `root` through records. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    stack.push([t, true]);
    if (t.node) for (const i of t.node.inputs) if (i.requiresGrad && !seen.has(i.id)) stack.push([i, false]);
  }
  return order;
}

export interface BackwardOptions {
  /** Keep the records so backward can run again through the same graph. */
  retainGraph?: boolean;
}

/**
 * Computes d(root)/d(leaf) for every leaf that requires grad, accumulating into `leaf.grad`. `grad` is the upstream
 * gradient (defaults to ones for a one-element root).
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new AutogradError('backward() on a tensor that does not require grad: set requiresGrad on a leaf it depends on');
  noGrad(() => {
    let seed = grad;
    if (!seed) {
      if (root.numel !== 1) throw new AutogradError(`backward() without a gradient needs a one-element tensor, got [${root.shape.join(', ')}]`);
      seed = onesOf(root);
    } else if (!shapesEqual(seed.shape, root.shape)) {
      throw new ShapeError(`gradient shape [${seed.shape.join(', ')}] does not match [${root.shape.join(', ')}]`);
    }
    const grads = new Map<number, Tensor>();
    grads.set(root.id, seed);
    const order = topoOrder(root);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t.id);
      if (!g) continue;
      grads.delete(t.id);
      const node = t.node;
      if (!node) {
        // A leaf: accumulate into .grad.
        const own = g === grad ? viewFn!(g) : g;
        if (t.grad) {
          const sum = addFn!(t.grad, own);
          t.grad.dispose();
          own.dispose();
          t.grad = keep(sum);
        } else t.grad = keep(own);
        // .grad belongs to its leaf, not to an enclosing tidy scope (keep), so tidy(() => loss.backward()) is safe.
        continue;
      }
      if (node.released) throw new AutogradError(`the graph through '${node.op}' was already released: pass {retainGraph: true} to the first backward()`);
      // Intermediates of the rule are disposed; the returned gradients survive. Each gradient becomes its own
      // Tensor object (a view when the rule passed `g` through) so disposing one never frees another.
      const inGrads = tidy(() => {
        const seen = new Set<Tensor>();
        return node.backward(g, node.ctx).map((gi) => {
          if (!gi) return null;
          if (gi === g || gi === grad || seen.has(gi)) gi = viewFn!(gi);
          seen.add(gi);
          return gi;
        });
      });
      if (g !== grad) g.dispose();
      node.inputs.forEach((inp, i) => {
        const gi = inGrads[i];
        if (!gi) return;
        if (!inp.requiresGrad) {
          gi.dispose();
          return;
        }
        if (!shapesEqual(gi.shape, inp.shape)) {
          throw new AutogradError(`backward of '${node.op}' returned a gradient of shape [${gi.shape.join(', ')}] for an input of shape [${inp.shape.join(', ')}]`);
        }
        const prev = grads.get(inp.id);
        if (prev) {
          grads.set(inp.id, addFn!(prev, gi));
          prev.dispose();
          gi.dispose();
        } else grads.set(inp.id, gi);
      });
      if (!opts.retainGraph) node.release();
    }
  });
}

// Late-bound helpers (set by ops/index.ts) to avoid an import cycle with the op modules.
let addFn: ((a: Tensor, b: Tensor) => Tensor) | undefined;
let viewFn: ((a: Tensor) => Tensor) | undefined;
let onesOf: (t: Tensor) => Tensor = () => {
  throw new AutogradError('ops not loaded');
};

export function bindAutogradHelpers(h: { add: (a: Tensor, b: Tensor) => Tensor; view: (a: Tensor) => Tensor; onesLike: (t: Tensor) => Tensor }): void {
  addFn = h.add;
  viewFn = h.view;
  onesOf = h.onesLike;
}
