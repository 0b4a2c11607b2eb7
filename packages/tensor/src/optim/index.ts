/** optim: AdamW, SGD, gradient clipping and learning-rate schedules. Updates write into the parameters in place. */
export { Optimizer, OptimizerError, type ParamGroup, type ResolvedGroup } from './optimizer.ts';
export { AdamW, type AdamWOptions } from './adamw.ts';
export { SGD, type SGDOptions } from './sgd.ts';
export { clipGradNorm } from './clip.ts';
export { cosineWithWarmup, linearWithWarmup, constantWithWarmup, LRScheduler, type Schedule } from './schedule.ts';
