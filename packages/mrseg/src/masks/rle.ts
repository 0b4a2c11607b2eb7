/**
 * COCO run-length encoding, bit-exact with pycocotools (common/maskApi.c).
 *
 * Layout: a mask of h rows and w columns is flattened in COLUMN-MAJOR order (index = x * h + y), and `counts`
 * alternates runs of 0s and 1s starting with 0s (so counts[0] may be 0). The compressed string form is
 * pycocotools' LEB128-like code (5 bits per char, ascii 48-111, counts after the second delta-coded against
 * counts[i-2]).
 */
import type { Rle } from '../types.ts';
import { MaskFormatError, MaskSizeMismatchError } from './errors.ts';

/** An RLE mask in memory: height, width and run lengths (0-run first), column-major. */
export interface RleMask {
  h: number;
  w: number;
  counts: Uint32Array;
}

/** A COCO RLE with compressed string counts, as written in COCO / LVIS result JSON. */
export interface CompressedRle {
  size: [number, number];
  counts: string;
}

/** [x, y, w, h] box as in COCO annotations. */
export type BboxXywh = [number, number, number, number];

/** The all-zero mask of size h x w. */
export function rleEmpty(h: number, w: number): RleMask {
  return { h, w, counts: Uint32Array.of(h * w) };
}

/** The all-one mask of size h x w. */
export function rleFull(h: number, w: number): RleMask {
  return { h, w, counts: Uint32Array.of(0, h * w) };
}

/** Decodes pycocotools' compressed counts string (rleFrString). Throws MaskFormatError on bad characters. */
export function rleFromString(s: string, h: number, w: number): RleMask {
  const out = new Uint32Array(s.length);
  let m = 0;
  let p = 0;
  const n = s.length;
  while (p < n) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= n) throw new MaskFormatError(`RLE string ends inside a count at char ${p}`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new MaskFormatError(`RLE string has invalid char ${JSON.stringify(s[p])} at ${p}`);
      // Up to 6 chars (30 bits) fit 32-bit integer ops; longer codes use exact float arithmetic.
      if (k < 6) x |= (c & 0x1f) << (5 * k);
      else x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x = k < 6 ? x | (-1 << (5 * k)) : x - 2 ** (5 * k);
    }
    if (m > 2) x += out[m - 2];
    if (x < 0 || x > 0xffffffff) throw new MaskFormatError(`RLE string decodes to an invalid count ${x} at run ${m}`);
    out[m++] = x;
  }
  return { h, w, counts: out.slice(0, m) };
}

/** Encodes counts to pycocotools' compressed string (rleToString). */
export function rleToString(r: RleMask | Uint32Array | readonly number[]): string {
  const cnts = 'counts' in r ? r.counts : r;
  const chars: number[] = [];
  let out = '';
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i];
    if (i > 2) x -= cnts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      chars.push(c + 48);
    }
    if (chars.length > 8192) {
      out += String.fromCharCode(...chars);
      chars.length = 0;
    }
  }
  return out + String.fromCharCode(...chars);
}

/** Sum of counts (must equal h*w for a well-formed mask). */
function countSum(c: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i];
  return s;
}

/** Throws MaskFormatError unless the counts sum to h*w and the size is valid. */
export function checkRle(r: RleMask): void {
  if (!Number.isInteger(r.h) || !Number.isInteger(r.w) || r.h < 0 || r.w < 0) {
    throw new MaskFormatError(`invalid mask size [${r.h}, ${r.w}]`);
  }
  const s = countSum(r.counts);
  if (s !== r.h * r.w) throw new MaskFormatError(`RLE counts sum to ${s}, expected h*w = ${r.h * r.w}`);
}

/**
 * COCO RLE (compressed string or uncompressed number counts) to an in-memory RleMask.
 * Counts are validated (sum = h*w) unless `validate` is false.
 */
export function rleFromCoco(rle: Rle, validate = true): RleMask {
  if (!rle || !Array.isArray(rle.size) || rle.size.length !== 2) throw new MaskFormatError('RLE needs size [h, w]');
  const [h, w] = rle.size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new MaskFormatError(`invalid RLE size ${JSON.stringify(rle.size)}`);
  }
  let m: RleMask;
  if (typeof rle.counts === 'string') m = rleFromString(rle.counts, h, w);
  else if (Array.isArray(rle.counts)) {
    const c = new Uint32Array(rle.counts.length);
    for (let i = 0; i < c.length; i++) {
      const v = rle.counts[i];
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new MaskFormatError(`invalid RLE count ${v} at ${i}`);
      c[i] = v;
    }
    m = { h, w, counts: c };
  } else throw new MaskFormatError('RLE counts must be a string or an array of integers');
  if (validate) checkRle(m);
  return m;
}

/** In-memory mask to a COCO RLE with compressed string counts. */
export function rleToCoco(r: RleMask): CompressedRle {
  return { size: [r.h, r.w], counts: rleToString(r) };
}

/** In-memory mask to a COCO RLE with uncompressed (number array) counts. */
export function rleToUncompressed(r: RleMask): { size: [number, number]; counts: number[] } {
  return { size: [r.h, r.w], counts: Array.from(r.counts) };
}

/** Number of 1 pixels (rleArea). */
export function rleArea(r: RleMask): number {
  let a = 0;
  const c = r.counts;
  for (let j = 1; j < c.length; j += 2) a += c[j];
  return a;
}

/** Tight bounding box [x, y, w, h] of the 1 pixels, exactly as pycocotools rleToBbox ([0,0,0,0] if empty). */
export function rleToBbox(r: RleMask): BboxXywh {
  const { h, w } = r;
  const c = r.counts;
  const m = c.length - (c.length % 2);
  if (m === 0 || h === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += c[j];
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    if (x < xs) xs = x;
    if (x > xe) xe = x;
    if (y < ys) ys = y;
    if (y > ye) ye = y;
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** Tight box [x0, y0, x1, y1] (exclusive max, as the official SegLLM evaluation) or null when empty. */
export function rleToBoxXyxy(r: RleMask): [number, number, number, number] | null {
  if (rleArea(r) === 0) return null;
  const [x, y, bw, bh] = rleToBbox(r);
  return [x, y, x + bw, y + bh];
}

/** Appends a run to a growable counts buffer, coalescing runs of the same value. */
class RunWriter {
  buf: Uint32Array;
  n = 1; // buf[0] is the (possibly empty) leading 0-run
  val = 0; // value of the run at buf[n-1]
  constructor(cap: number) {
    this.buf = new Uint32Array(Math.max(4, cap));
  }
  push(len: number, v: number): void {
    if (len === 0) return;
    if (v === this.val) {
      this.buf[this.n - 1] += len;
      return;
    }
    if (this.n === this.buf.length) {
      const nb = new Uint32Array(this.buf.length * 2);
      nb.set(this.buf);
      this.buf = nb;
    }
    this.buf[this.n++] = len;
    this.val = v;
  }
  finish(): Uint32Array {
    return this.buf.slice(0, this.n);
  }
}

function sameSize(a: RleMask, b: RleMask): void {
  if (a.h !== b.h || a.w !== b.w) throw new MaskSizeMismatchError([a.h, a.w], [b.h, b.w]);
}

/** Union (or intersection) of two masks of the same size, canonical counts. */
export function rleMerge2(a: RleMask, b: RleMask, intersect = false): RleMask {
  sameSize(a, b);
  const wr = new RunWriter(a.counts.length + b.counts.length + 1);
  const ac = a.counts;
  const bc = b.counts;
  let ia = 0;
  let ib = 0;
  let ca = ac.length ? ac[0] : 0;
  let cb = bc.length ? bc[0] : 0;
  let va = 0;
  let vb = 0;
  for (;;) {
    while (ca === 0 && ia + 1 < ac.length) {
      ca = ac[++ia];
      va ^= 1;
    }
    while (cb === 0 && ib + 1 < bc.length) {
      cb = bc[++ib];
      vb ^= 1;
    }
    if (ca === 0 || cb === 0) {
      if (ca !== cb) throw new MaskFormatError('RLE counts of the two masks sum to different totals');
      break;
    }
    const c = ca < cb ? ca : cb;
    wr.push(c, intersect ? va & vb : va | vb);
    ca -= c;
    cb -= c;
  }
  return { h: a.h, w: a.w, counts: wr.finish() };
}

/**
 * Union (or intersection) of n masks, as pycocotools `merge(rles, intersect)`. One mask is returned as a copy
 * (unchanged counts); an empty list gives the 0 x 0 mask.
 */
export function rleMerge(rles: readonly RleMask[], intersect = false): RleMask {
  if (rles.length === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  if (rles.length === 1) return { h: rles[0].h, w: rles[0].w, counts: rles[0].counts.slice() };
  let acc = rleMerge2(rles[0], rles[1], intersect);
  for (let i = 2; i < rles.length; i++) acc = rleMerge2(acc, rles[i], intersect);
  return acc;
}

export const rleUnion = (a: RleMask, b: RleMask): RleMask => rleMerge2(a, b, false);
export const rleIntersection = (a: RleMask, b: RleMask): RleMask => rleMerge2(a, b, true);

/** Complement (pycocotools-compatible semantics of rleInvert). */
export function rleInvert(a: RleMask): RleMask {
  const c = a.counts;
  if (c.length > 0 && c[0] === 0) return { h: a.h, w: a.w, counts: c.slice(1) };
  const out = new Uint32Array(c.length + 1);
  out.set(c, 1);
  return { h: a.h, w: a.w, counts: out };
}

/** Rewrites counts to the canonical form (only counts[0] may be 0, no zero runs elsewhere). */
export function rleCanonical(a: RleMask): RleMask {
  const wr = new RunWriter(a.counts.length + 1);
  let v = 0;
  for (let i = 0; i < a.counts.length; i++) {
    wr.push(a.counts[i], v);
    v ^= 1;
  }
  return { h: a.h, w: a.w, counts: wr.finish() };
}

/** Intersection and union pixel counts of two same-size masks, in one pass over the runs (no allocation). */
export function rleIntersectionUnion(a: RleMask, b: RleMask): { intersection: number; union: number } {
  sameSize(a, b);
  const ac = a.counts;
  const bc = b.counts;
  let ia = 0;
  let ib = 0;
  let ca = ac.length ? ac[0] : 0;
  let cb = bc.length ? bc[0] : 0;
  let va = 0;
  let vb = 0;
  let inter = 0;
  let uni = 0;
  for (;;) {
    while (ca === 0 && ia + 1 < ac.length) {
      ca = ac[++ia];
      va ^= 1;
    }
    while (cb === 0 && ib + 1 < bc.length) {
      cb = bc[++ib];
      vb ^= 1;
    }
    if (ca === 0 || cb === 0) {
      if (ca !== cb) throw new MaskFormatError('RLE counts of the two masks sum to different totals');
      break;
    }
    const c = ca < cb ? ca : cb;
    if (va | vb) {
      uni += c;
      if (va & vb) inter += c;
    }
    ca -= c;
    cb -= c;
  }
  return { intersection: inter, union: uni };
}

/**
 * Mask IoU as pycocotools `iou(dt, gt, iscrowd)` for one pair: intersection / union, or intersection / area(dt)
 * when the ground truth is a crowd region; 0 when the intersection is empty. Throws on size mismatch (pycocotools
 * returns -1).
 */
export function rleIou(dt: RleMask, gt: RleMask, iscrowd = false): number {
  const { intersection, union } = rleIntersectionUnion(dt, gt);
  if (intersection === 0) return 0;
  return intersection / (iscrowd ? rleArea(dt) : union);
}

/** pycocotools-style IoU matrix, indexed [detection][ground truth]. */
export function rleIouMatrix(dts: readonly RleMask[], gts: readonly RleMask[], iscrowd?: readonly boolean[]): number[][] {
  return dts.map((d) => gts.map((g, j) => rleIou(d, g, iscrowd?.[j] ?? false)));
}

/** Equality of the pixel sets (independent of zero runs in the counts). */
export function rleEquals(a: RleMask, b: RleMask): boolean {
  if (a.h !== b.h || a.w !== b.w) return false;
  const { intersection, union } = rleIntersectionUnion(a, b);
  return intersection === union;
}
