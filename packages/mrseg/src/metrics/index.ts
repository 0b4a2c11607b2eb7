/** Per-round SegLLM metrics (cIoU, mIoU, P@0.5) on RLE masks, and evaluation of mask record files. */
export * from './metrics.ts';
export * from './records.ts';
