/**
 * Label maps (one value per pixel) to one RLE mask per label, in a single column-major pass: ADE20K and COCO-Stuff
 * class PNGs, COCO panoptic RGB PNGs. No byte-per-pixel mask is ever made per class.
 *
 * Conventions (as the SegLLM mask loaders):
 * - ADE20K (ADEChallengeData2016 annotations): value 0 = "other"/ignore; class id = value - 1 (0..149).
 * - COCO-Stuff (stuffthingmaps): value = class id (0..181, 0-based COCO-Stuff ids), 255 = unlabeled/ignore.
 * - COCO panoptic: segment id = R + 256 G + 256^2 B, 0 = void.
 */
import type { RleMask } from '../masks/rle.ts';
import { AnnotationFormatError } from './errors.ts';
import { decodePng, type DecodedPng } from './png.ts';

/** Per-label RLE masks of an h x w map. `label(v)` maps a raw value to a label id, or null to ignore the pixel. */
export function labelMapToRles(
  values: ArrayLike<number>,
  h: number,
  w: number,
  label: (v: number) => number | null = (v) => v,
): Map<number, RleMask> {
  if (values.length !== h * w) throw new AnnotationFormatError('', `label map has ${values.length} values, expected ${h * w}`);
  interface Acc {
    counts: number[];
    last: number; // end (exclusive) of the last 1-run written
  }
  const acc = new Map<number, Acc>();
  const cache = new Map<number, number | null>();
  const labelOf = (v: number): number | null => {
    let l = cache.get(v);
    if (l === undefined) {
      l = label(v);
      cache.set(v, l);
    }
    return l;
  };
  let runLabel: number | null = null;
  let runStart = 0;
  const close = (end: number): void => {
    if (runLabel === null || end <= runStart) return;
    let a = acc.get(runLabel);
    if (!a) {
      a = { counts: [], last: 0 };
      acc.set(runLabel, a);
    }
    if (a.counts.length > 0 && a.last === runStart) a.counts[a.counts.length - 1] += end - runStart;
    else a.counts.push(runStart - a.last, end - runStart);
    a.last = end;
  };
  let p = 0;
  let prevRaw = NaN;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++, p++) {
      const v = values[y * w + x];
      if (v === prevRaw) continue;
      prevRaw = v;
      const l = labelOf(v);
      if (l !== runLabel) {
        close(p);
        runLabel = l;
        runStart = p;
      }
    }
  }
  close(p);
  const out = new Map<number, RleMask>();
  for (const [l, a] of [...acc.entries()].sort((x, y) => x[0] - y[0])) {
    if (a.last < h * w) a.counts.push(h * w - a.last);
    out.set(l, { h, w, counts: Uint32Array.from(a.counts) });
  }
  return out;
}

export interface LabelMasks {
  width: number;
  height: number;
  /** Label id -> mask, ascending label order. */
  masks: Map<number, RleMask>;
}

function singleChannel(png: DecodedPng, what: string): ArrayLike<number> {
  if (png.channels !== 1) {
    throw new AnnotationFormatError('', `${what} PNG must be single-channel (gray or palette), got colour type ${png.colorType}`);
  }
  return png.data;
}

/** ADE20K class PNG -> class id (value - 1) -> mask; value 0 is ignored. */
export function readAde20kPng(bytes: Uint8Array): LabelMasks {
  const png = decodePng(bytes);
  const masks = labelMapToRles(singleChannel(png, 'ADE20K'), png.height, png.width, (v) => (v === 0 ? null : v - 1));
  return { width: png.width, height: png.height, masks };
}

/** COCO-Stuff class PNG -> class id (= value) -> mask; value 255 is ignored. */
export function readCocoStuffPng(bytes: Uint8Array): LabelMasks {
  const png = decodePng(bytes);
  const masks = labelMapToRles(singleChannel(png, 'COCO-Stuff'), png.height, png.width, (v) => (v === 255 ? null : v));
  return { width: png.width, height: png.height, masks };
}

/** Any single-channel label PNG with a caller-supplied value -> label mapping. */
export function readLabelPng(bytes: Uint8Array, label?: (v: number) => number | null): LabelMasks {
  const png = decodePng(bytes);
  const masks = labelMapToRles(singleChannel(png, 'label'), png.height, png.width, label);
  return { width: png.width, height: png.height, masks };
}

/** COCO panoptic PNG (RGB, id = R + 256 G + 256^2 B) -> segment id -> mask; id 0 (void) is ignored. */
export function readPanopticPng(bytes: Uint8Array): LabelMasks {
  const png = decodePng(bytes);
  if (png.colorType !== 2 && png.colorType !== 6) throw new AnnotationFormatError('', 'panoptic PNG must be RGB or RGBA');
  if (png.bitDepth !== 8) throw new AnnotationFormatError('', 'panoptic PNG must be 8-bit');
  const n = png.width * png.height;
  const c = png.channels;
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = png.data[i * c] + 256 * png.data[i * c + 1] + 65536 * png.data[i * c + 2];
  const masks = labelMapToRles(ids, png.height, png.width, (v) => (v === 0 ? null : v));
  return { width: png.width, height: png.height, masks };
}
