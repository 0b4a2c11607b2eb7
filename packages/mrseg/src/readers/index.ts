/** Annotation readers: COCO, RefCOCO(+/g) refs (pickle and JSON), LVIS, PACO-LVIS, Visual Genome / GQA, label PNGs. */
export * from './errors.ts';
export { parseJson } from './validate.ts';
export * from './coco.ts';
export * from './pickle.ts';
export * from './refer.ts';
export * from './lvis.ts';
export * from './paco.ts';
export * from './vg.ts';
export * from './png.ts';
export * from './classmap.ts';
