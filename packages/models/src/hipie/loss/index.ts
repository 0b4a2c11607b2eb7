export { hipieLoss, hipieWeightDict, type HipieLossInput, type HipieLossResult, type LayerPrediction, type BranchPredictions, type MaskLogitsFn } from './criterion.ts';
export { segllmTarget, targetBoxes, HipieTargetError, SEG_TOKENS, type HipieTarget } from './targets.ts';
export { simOtaMatch, hungarianMatch, focalClassCost, inBoxesInfo, type Match, type OtaMatch, type HostPrediction, type HostTargets } from './matcher.ts';
export { linearSumAssignment, AssignmentError } from './lsap.ts';
export { pointSample, selectUncertain, uncertainPoints, targetMaskStride4, NUM_POINTS } from './points.ts';
export { lossLabelsVL, lossBoxes, lossMasks } from './terms.ts';
export { giouLoss, pairedIou, pairwiseIouGiou, cxcywhToXyxyHost } from './boxes.ts';
export { runHipieLossCase, hipieLossCaseNames, judgeLossComparison, type LossComparison } from './golden.ts';
