export { segllmTrainStep, TrainStepError, type StepSample, type StepOptions, type StepOutput, type SegLoss, type SegTarget } from './step.ts';
export { Trainer, TrainConfigError, TRAINER_DEFAULTS, applyFreeze, type BatchSource, type FreezeSpec, type TrainerOptions, type LogRecord, type TrainHooks } from './trainer.ts';
export { saveTrainCheckpoint, latestCheckpoint, readTrainCheckpoint, checkpointName, TrainCheckpointError, type TrainerStateJson } from './checkpoint.ts';
export { lossCurveSvg, writeLossCurve, type CurvePoint } from './curve.ts';
