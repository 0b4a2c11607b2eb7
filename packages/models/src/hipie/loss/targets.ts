/**
 * SegLLM's HIPIE targets (hipie_utils.py, HIPIESementator training branch; HIPIE_IMG.prepare_targets): one <seg> gives
 * [reference, target] with positive maps [[1,1,1,1,0,0,0,0],[0,0,0,0,1,1,1,1]] when the reference mask is non-empty,
 * else [target] with [0,0,0,0,1,1,1,1]. Boxes are detectron2's BitMasks.get_bounding_boxes ([x_min, y_min, x_max + 1,
 * y_max + 1] px, zeros for an empty mask) divided by [S, S, S, S] and converted to cxcywh.
 */
import { pixelXyxyToCxcywh } from './boxes.ts';

export class HipieTargetError extends Error {
  override name = 'HipieTargetError';
}

export interface HipieTarget {
  /** [T, S, S] 0/1, row-major. */
  masks: Uint8Array;
  numInstances: number;
  /** Image side S (square; a multiple of 4 — masks are padded to a multiple of 32 like get_target_masks). */
  size: number;
  /** [T][tokens] 0/1. */
  positiveMap: number[][];
}

/** The number of phrase tokens per <seg>: 0-3 the reference phrase, 4-7 the target phrase. */
export const SEG_TOKENS = 8;

export function segllmTarget(target: Uint8Array, reference: Uint8Array | null, size: number): HipieTarget {
  const n = size * size;
  if (target.length !== n || (reference && reference.length !== n)) {
    throw new HipieTargetError(`segllmTarget: masks must hold size * size = ${n} values (got ${target.length}${reference ? ` and ${reference.length}` : ''})`);
  }
  const half = SEG_TOKENS / 2;
  const refMap = Array.from({ length: SEG_TOKENS }, (_, k) => (k < half ? 1 : 0));
  const tgtMap = Array.from({ length: SEG_TOKENS }, (_, k) => (k < half ? 0 : 1));
  if (reference && reference.some((v) => v !== 0)) {
    const masks = new Uint8Array(2 * n);
    masks.set(reference, 0);
    masks.set(target, n);
    return { masks, numInstances: 2, size, positiveMap: [refMap, tgtMap] };
  }
  return { masks: Uint8Array.from(target), numInstances: 1, size, positiveMap: [tgtMap] };
}

/** Checks a target's sizes (before anything is allocated from them). */
export function checkTarget(t: HipieTarget, b: number): void {
  const { size: S, numInstances: T } = t;
  if (!(Number.isInteger(S) && S > 0 && S % 4 === 0)) throw new HipieTargetError(`target ${b}: size ${S} must be a positive multiple of 4`);
  if (t.masks.length !== T * S * S) throw new HipieTargetError(`target ${b}: masks hold ${t.masks.length} values, expected numInstances * size^2 = ${T * S * S}`);
  if (t.positiveMap.length !== T) throw new HipieTargetError(`target ${b}: ${t.positiveMap.length} positive maps for ${T} instances`);
}

/** Normalised cxcywh boxes [T * 4] of the target's masks. */
export function targetBoxes(t: HipieTarget): Float32Array {
  const S = t.size;
  const out = new Float32Array(t.numInstances * 4);
  for (let i = 0; i < t.numInstances; i++) {
    let x0 = S;
    let y0 = S;
    let x1 = -1;
    let y1 = -1;
    const off = i * S * S;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        if (!t.masks[off + y * S + x]) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    const px = x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 + 1, y1 + 1];
    out.set(pixelXyxyToCxcywh(px, S, S), 4 * i);
  }
  return out;
}
