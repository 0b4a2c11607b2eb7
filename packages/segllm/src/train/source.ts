/** The trainer's batches from MRSeg conversation files: the official sampler's draws, built into samples (Node). */
import type { BatchSource } from './trainer.ts';
import type { TrainDataset } from './dataset.ts';
import type { TrainSampler, SamplerState } from './sampler.ts';
import type { TrainSample } from './samples.ts';
import { TrainDataError } from './errors.ts';

export class DatasetSource implements BatchSource {
  constructor(
    readonly dataset: TrainDataset,
    readonly sampler: TrainSampler,
  ) {}

  /** The next draw's samples; a draw whose conversations were all skipped is replaced by the next one. */
  async next(): Promise<TrainSample[]> {
    for (let tries = 0; tries < 100; tries++) {
      const { samples } = await this.dataset.batch(this.sampler.next());
      if (samples.length > 0) return samples;
    }
    throw new TrainDataError(`100 batches in a row had no usable conversation (skips so far: ${JSON.stringify(this.dataset.skips)}): check the data`);
  }

  state(): SamplerState {
    return this.sampler.state();
  }

  restore(s: unknown): void {
    this.sampler.restore(s as SamplerState);
  }

  skipped(): number {
    return Object.values(this.dataset.skips).reduce((a, b) => a + b, 0);
  }
}
