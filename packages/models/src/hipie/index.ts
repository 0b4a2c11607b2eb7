export { HIPIE_R50, HipieConfigError, parseHipieConfig, validateHipieConfig, backboneChannels, type HipieConfig } from './config.ts';
export { sinePositionEmbedding, querySineEmbedding, sineDimT } from './position.ts';
export { MSDeformAttn, type SpatialShapes } from './msdeform.ts';
export { buildInputProjection, projectLevels, levelPositions } from './input-proj.ts';
export { VLFuse, BiAttentionBlock, BiMultiHeadAttention, VL_ATTN_DROPOUT } from './vl-fusion.ts';
export { DeformableEncoder, EncoderLayer, encoderReferencePoints } from './encoder.ts';
export { DeformableDecoder, DecoderLayer, inverseSigmoid, type DecoderOutput } from './decoder.ts';
export { VLAlign, StillClassifier } from './heads.ts';
export { encoderProposals, type Proposals } from './two-stage.ts';
export { DeformableTransformer, type TransformerOutput } from './transformer.ts';
export { MaskHeadSmallConv, alignedBilinear, dynamicMaskLogits, dynamicParamSizes, memoryLevels } from './mask-head.ts';
export {
  HipieModel, HipieDetr, HipieBackbone, HipieInputError, disposeHipieOutputs, disposeImageFeatures, type HipieOutputs, type ImageFeatures,
} from './model.ts';
export { postprocess, maskToOriginal, boxToOriginal, type Detection, type Segmentation, type PostprocessOptions } from './postprocess.ts';
export { loadHipie, readHipieConfig, buildHipie, serializeHipie, HIPIE_PREFIXES, type HipieLoadReport } from './load.ts';
export * from './loss/index.ts';
export { FeatureResizer, HipieDnError, dnAttentionMask, dnLayout, dnMatches, dnNoisedBoxes, dnReferences, type DnLayout } from './dn.ts';
export {
  hipieForwardTrain, maskLogits, disposeTrainOutputs, type HipieTrainOutputs, type HipieTrainLayer, type HipieDnInput, type HipieTrainOptions,
} from './train.ts';
export { type DnQueries, type TrainInputs } from './transformer.ts';
