/** Mask utilities: COCO RLE (pycocotools-exact), polygon/box rasterisation, bit-packed masks, box IoU, frames. */
export * from './errors.ts';
export * from './rle.ts';
export * from './poly.ts';
export * from './bitmask.ts';
export * from './convert.ts';
export * from './box.ts';
export * from './frame.ts';
