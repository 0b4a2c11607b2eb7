/**
 * The official multi-dataset batch sampler (TRN `MultiDatasetBatchSampler`, segllm-reference.md 5.4): each batch
 * picks one dataset (conversation file) uniformly, then `batchSize` conversations of it uniformly WITH replacement;
 * an epoch is `total conversations // batchSize` batches. Every batch is a pure function of (seed, step), so the
 * state is just those two numbers: `state()` / `restore()` resume bit for bit. Each drawn conversation also gets
 * its own sample seed (for the encoding dropout and the random mask-loss rounds).
 */
import { rngFor } from '@segllm/mrseg';
import { TrainDataError } from './errors.ts';

export interface SamplerState {
  seed: number;
  step: number;
  /** Conversations per dataset when the state was taken (checked on restore). */
  sizes: number[];
  batchSize: number;
}

export interface BatchDraw {
  /** 0-based batch counter since the start of training. */
  step: number;
  /** Dataset (file) index. */
  dataset: number;
  /** Conversation indices inside that dataset (with replacement). */
  indices: number[];
  /** A seed per drawn conversation, for its own random choices. */
  seeds: number[];
}

export class TrainSampler {
  #step = 0;

  constructor(
    readonly sizes: readonly number[],
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TrainDataError(`batch size must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(seed)) throw new TrainDataError(`seed must be an integer, got ${seed}`);
    if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new TrainDataError(`every dataset needs at least one conversation, got sizes [${sizes.join(', ')}]`);
    }
  }

  /** Batches per epoch, as upstream: total conversations // batch size. */
  get batchesPerEpoch(): number {
    return Math.floor(this.sizes.reduce((a, b) => a + b, 0) / this.batchSize);
  }

  get step(): number {
    return this.#step;
  }

  /** The batch of `step` (does not move the sampler). */
  draw(step: number): BatchDraw {
    const rng = rngFor(this.seed, `batch|${step}`);
    const dataset = rng.int(0, this.sizes.length - 1);
    const indices = Array.from({ length: this.batchSize }, () => rng.int(0, this.sizes[dataset] - 1));
    const seeds = indices.map(() => rng.nextU32());
    return { step, dataset, indices, seeds };
  }

  next(): BatchDraw {
    return this.draw(this.#step++);
  }

  state(): SamplerState {
    return { seed: this.seed, step: this.#step, sizes: [...this.sizes], batchSize: this.batchSize };
  }

  /** Continues from a saved state; refuses a state of other datasets, batch size or seed. */
  restore(s: SamplerState): void {
    const same = s.seed === this.seed && s.batchSize === this.batchSize && s.sizes.length === this.sizes.length && s.sizes.every((n, i) => n === this.sizes[i]);
    if (!same) {
      throw new TrainDataError(
        `sampler state (seed ${s.seed}, batch ${s.batchSize}, sizes [${s.sizes.join(', ')}]) is not this sampler's (seed ${this.seed}, batch ${this.batchSize}, sizes [${this.sizes.join(', ')}]): resume with the same files, batch size and seed`,
      );
    }
    if (!Number.isInteger(s.step) || s.step < 0) throw new TrainDataError(`sampler state step must be a non-negative integer, got ${s.step}`);
    this.#step = s.step;
  }
}
