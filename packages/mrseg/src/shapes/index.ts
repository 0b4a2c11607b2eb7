export { encodePngRgb, crc32 } from './png.ts';
export type { Rgb, Pattern, SizeWord, ClassDef } from './classes.ts';
export { CLASSES, COLORS, PATTERNS } from './classes.ts';
export type { Scene, SceneObject, SceneRelation, SceneOptions, Predicate, Background } from './scene.ts';
export { PREDICATES, BACKGROUND_KINDS, makeScene } from './scene.ts';
export type { Rendered, PartSlot } from './render.ts';
export { renderScene } from './render.ts';
export type { ShapesAnnotation, ShapesRelationship, ImageAnnotations } from './annotate.ts';
export { SHAPES_CATEGORIES, SHAPES_DATASET, annotateScene } from './annotate.ts';
export type { ShapesImage, ShapesSample, ShapesDatasetOptions, SplitSummary, ConversationType } from './dataset.ts';
export {
  CONVERSATION_TYPES,
  ShapesOptionsError,
  VAL_ID_BASE,
  VAL_SEED,
  generateShapesSample,
  writeShapesDataset,
} from './dataset.ts';
