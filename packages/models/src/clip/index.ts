export { CLIP_VIT_L14_224, parseClipVisionConfig, type ClipVisionConfig, type ClipHiddenAct } from './config.ts';
export {
  ClipVisionTransformer, ClipVisionEmbeddings, ClipAttention, ClipMlp, ClipEncoderLayer, ClipEncoder, ClipInputError,
  type ClipVisionOutput, type FeatureSelectOptions,
} from './modeling.ts';
export { CLIP_KEY_PREFIXES, buildClipVitL14, loadClipVision } from './build.ts';
