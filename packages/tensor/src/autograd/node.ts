/**
 * One record on the autograd tape: the op's inputs, saved tensors, and a backward rule that maps the output
 * gradient to input gradients (null where an input needs none). A record keeps private views of what it needs
 * (so disposing a user tensor, or leaving a tidy scope, cannot break backward) and releases them after backward.
 */
import { Tensor } from '../tensor.ts';
import { untracked } from '../memory.ts';

export interface BackwardContext {
  /** Private views of the op's inputs (same storage); empty when the op did not save them. */
  inputs: readonly Tensor[];
  saved: readonly Tensor[];
  /** Private view of the op's output (only when the op asked for it). */
  output: Tensor | null;
}

export type BackwardFn = (grad: Tensor, ctx: BackwardContext) => (Tensor | null | undefined)[];

function shadow(t: Tensor): Tensor {
  return untracked(() => new Tensor(t.storage, t.shape, t.strides, t.offset, t.dtype));
}

/** Frees the private views of records that were garbage-collected without backward() having run through them. */
const orphans = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry<Tensor[]>((views) => views.forEach((t) => t.dispose())) : undefined;

export class GradNode {
  released = false;
  readonly ctx: BackwardContext;
  constructor(
    readonly op: string,
    /** The user-visible inputs: graph edges for traversal and gradient accumulation. */
    readonly inputs: readonly Tensor[],
    saved: readonly Tensor[],
    readonly backward: BackwardFn,
    output: Tensor | null,
    saveInputs: boolean,
  ) {
    this.ctx = {
      inputs: saveInputs ? inputs.map(shadow) : [],
      saved: saved.map(shadow),
      output: output ? shadow(output) : null,
    };
    const views = [...this.ctx.inputs, ...this.ctx.saved, ...(this.ctx.output ? [this.ctx.output] : [])];
    if (views.length) orphans?.register(this, views, this);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    orphans?.unregister(this);
    for (const t of this.ctx.inputs) t.dispose();
    for (const t of this.ctx.saved) t.dispose();
    this.ctx.output?.dispose();
  }
}
