/**
 * Learning-rate schedules as multipliers of the base lr by step (as HF transformers' get_*_schedule_with_warmup),
 * and LRScheduler, which sets each group's lr to initialLr * schedule(step) (like torch's LambdaLR).
 */
import type { Optimizer } from './optimizer.ts';
import { OptimizerError } from './optimizer.ts';

export type Schedule = (step: number) => number;

function checkSteps(warmupSteps: number, totalSteps?: number): void {
  if (!(warmupSteps >= 0)) throw new OptimizerError(`warmupSteps must be >= 0, got ${warmupSteps}`);
  if (totalSteps !== undefined && !(totalSteps >= warmupSteps)) throw new OptimizerError(`totalSteps (${totalSteps}) must be >= warmupSteps (${warmupSteps})`);
}

/** Linear warmup from 0 to 1 over warmupSteps, then half a cosine (numCycles 0.5) down to minRatio at totalSteps. */
export function cosineWithWarmup(o: { warmupSteps: number; totalSteps: number; numCycles?: number; minRatio?: number }): Schedule {
  checkSteps(o.warmupSteps, o.totalSteps);
  const cycles = o.numCycles ?? 0.5;
  const floor = o.minRatio ?? 0;
  return (step) => {
    if (step < o.warmupSteps) return step / Math.max(1, o.warmupSteps);
    const progress = (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps);
    const c = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
    return floor + (1 - floor) * c;
  };
}

/** Linear warmup, then linear decay to 0 at totalSteps. */
export function linearWithWarmup(o: { warmupSteps: number; totalSteps: number }): Schedule {
  checkSteps(o.warmupSteps, o.totalSteps);
  return (step) => {
    if (step < o.warmupSteps) return step / Math.max(1, o.warmupSteps);
    return Math.max(0, (o.totalSteps - step) / Math.max(1, o.totalSteps - o.warmupSteps));
  };
}

/** 1 (after an optional linear warmup). */
export function constantWithWarmup(o: { warmupSteps?: number } = {}): Schedule {
  const w = o.warmupSteps ?? 0;
  checkSteps(w);
  return (step) => (step < w ? step / Math.max(1, w) : 1);
}

/** Sets the optimiser's lr from a schedule: at construction for step 0, then after each `step()`. */
export class LRScheduler {
  #step = 0;
  constructor(
    readonly optimizer: Optimizer<{ lr: number }>,
    readonly schedule: Schedule,
  ) {
    this.#apply();
  }
  get lastStep(): number {
    return this.#step;
  }
  /** The current learning rate of each group. */
  get lrs(): number[] {
    return this.optimizer.groups.map((g) => g.lr);
  }
  step(): void {
    this.#step++;
    this.#apply();
  }
  #apply(): void {
    const f = this.schedule(this.#step);
    for (const g of this.optimizer.groups) g.lr = g.initialLr * f;
  }
}
