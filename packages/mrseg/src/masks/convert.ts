/** pycocotools-style conversions between segmentation formats (frPyObjects, annToRLE, encode, decode). */
import type { Rle, Segmentation } from '../types.ts';
import { BitMask } from './bitmask.ts';
import { MaskFormatError } from './errors.ts';
import { bboxToRle, polygonToRle } from './poly.ts';
import { rleFromCoco, rleMerge, type RleMask } from './rle.ts';

const isRleObject = (o: unknown): o is Rle =>
  typeof o === 'object' && o !== null && !Array.isArray(o) && 'counts' in o && 'size' in o;

/**
 * pycocotools `frPyObjects(pyobj, h, w)`:
 * - a list of lists: boxes if the FIRST inner list has exactly 4 numbers (a pycocotools quirk: every entry is then
 *   read as [x, y, w, h]), polygons if it has more than 4;
 * - a list of RLE objects, or one RLE object: uncompressed/compressed RLE, each keeping its own `size`;
 * - a flat list of 4 numbers: one box; a flat list of more than 4 numbers: one polygon.
 * Lists give an array of masks (one per entry, not merged); single objects give one mask.
 */
export function frPyObjects(obj: unknown, h: number, w: number): RleMask | RleMask[] {
  if (Array.isArray(obj)) {
    if (obj.length === 0) throw new MaskFormatError('frPyObjects: empty list');
    const first: unknown = obj[0];
    if (Array.isArray(first)) {
      const lists = obj as unknown[];
      for (const l of lists) if (!Array.isArray(l)) throw new MaskFormatError('frPyObjects: mixed list');
      if (first.length === 4) return (lists as number[][]).map((b) => bboxToRle(b, h, w));
      if (first.length > 4) return (lists as number[][]).map((p) => polygonToRle(p, h, w));
      throw new MaskFormatError(`frPyObjects: polygon with ${first.length} coordinates (needs more than 4)`);
    }
    if (isRleObject(first)) return obj.map((r: unknown) => rleObjectToRle(r));
    if (typeof first === 'number') {
      const nums = obj as number[];
      if (nums.length === 4) return bboxToRle(nums, h, w);
      if (nums.length > 4) return polygonToRle(nums, h, w);
    }
    throw new MaskFormatError('frPyObjects: input type is not supported');
  }
  if (isRleObject(obj)) return rleObjectToRle(obj);
  throw new MaskFormatError('frPyObjects: input type is not supported');
}

function rleObjectToRle(r: unknown): RleMask {
  if (!isRleObject(r)) throw new MaskFormatError('frPyObjects: expected an RLE object with size and counts');
  return rleFromCoco(r);
}

/**
 * The mask of one COCO annotation's `segmentation` in an h x w image, as pycocotools `COCO.annToRLE`: polygons
 * are rasterised and merged (union), RLE (compressed or uncompressed) is read as is (its size must be h x w).
 */
export function segmentationToRle(seg: Segmentation, h: number, w: number): RleMask {
  const obj: unknown = seg;
  if (Array.isArray(obj)) {
    if (obj.length === 0) return { h, w, counts: Uint32Array.of(h * w) };
    const r = frPyObjects(obj, h, w);
    return Array.isArray(r) ? rleMerge(r) : r;
  }
  if (isRleObject(obj)) {
    const m = rleFromCoco(obj);
    if (m.h !== h || m.w !== w) {
      throw new MaskFormatError(`RLE size [${m.h}, ${m.w}] differs from the image size [${h}, ${w}]`);
    }
    return m;
  }
  throw new MaskFormatError('segmentation must be a polygon list or an RLE object');
}

/** RLE to a bit-packed mask (pycocotools `decode`, but 1 bit per pixel). */
export function decodeRle(r: RleMask): BitMask {
  return BitMask.fromRle(r);
}

/** Bit-packed mask to canonical RLE (pycocotools `encode`). */
export function encodeMask(m: BitMask): RleMask {
  return m.toRle();
}

/** Byte-per-pixel mask (non-zero = 1; 'row' = y*w+x, 'col' = x*h+y) to RLE, without a BitMask. */
export function encodeBytes(data: ArrayLike<number>, h: number, w: number, order: 'row' | 'col' = 'row'): RleMask {
  if (data.length !== h * w) throw new MaskFormatError(`mask data has ${data.length} values, expected ${h * w}`);
  const out: number[] = [];
  let v = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const b = data[order === 'row' ? y * w + x : x * h + y] ? 1 : 0;
      if (b !== v) {
        out.push(run);
        run = 0;
        v = b;
      }
      run++;
    }
  }
  out.push(run);
  return { h, w, counts: Uint32Array.from(out) };
}
