export { TrainDataError, TrainSampleError, type TrainSampleProblem } from './errors.ts';
export { IGNORE_INDEX, FAKE_SEGM_TOKEN, labelPrompt, renderPrompt, type Labelled, type Message } from './labels.ts';
export { EmptyMaskError, groundTruthBox, groundTruthMaskPixels, maskExtent } from './encodings.ts';
export { buildTrainSample, conversationMessages, paddedMask, tokenizeConversation, type MaskLookup, type SampleOptions, type TrainSample } from './samples.ts';
export { TrainSampler, type BatchDraw, type SamplerState } from './sampler.ts';
export { TrainDataset, type TrainDatasetOptions } from './dataset.ts';
