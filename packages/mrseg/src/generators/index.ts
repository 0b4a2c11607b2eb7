export type * from './types.ts';
export { Rng, hashString, rngFor } from './rng.ts';
export type { Relation } from './relations.ts';
export { RELATIONS, RELATION_PHRASES, SAME_IOU, pairLocationWords, relation } from './relations.ts';
export type { GenOptions } from './common.ts';
export { captionInstances, captionText, readableName, refName, withArticle } from './common.ts';
export type { PositionalOptions } from './positional.ts';
export { generatePositional, lvisCaptionedObjects } from './positional.ts';
export type { HierarchicalOptions } from './hierarchical.ts';
export { generateHierarchical } from './hierarchical.ts';
export type { InteractionalOptions } from './interactional.ts';
export { generateInteractional, predicatePhrase } from './interactional.ts';
export { generateAttribute, generateHard, generateSemantic } from './single.ts';
export type { AdapterOptions, RefcocoRef, VgSceneGraph as VgSceneGraphInput } from './adapters.ts';
export {
  AdapterInputError,
  cocoHardInputs,
  lvisPositionalInputs,
  pacoHierarchicalInputs,
  refcocoPositionalInputs,
  vgInteractionalInputs,
} from './adapters.ts';
export type { SlimCocoDataset } from './load.ts';
export { loadCocoForGeneration, streamVgSceneGraphs } from './load.ts';
export type { DataBuildOptions, DataBuildSummary, DataSource } from './build.ts';
export { DATA_SOURCES, DataBuildError, buildConversations } from './build.ts';
