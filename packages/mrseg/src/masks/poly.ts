/**
 * Polygon and box rasterisation to RLE, reimplementing pycocotools' `rleFrPoly` / `rleFrBbox` (maskApi.c) so the
 * result is bit-identical: the polygon is upsampled by 5, its edges are walked with a DDA that rounds like C's
 * `(int)(v + .5)`, the points where the walk changes column give the y-boundaries of each pixel column (pixel
 * centres), and the sorted boundary positions become run lengths.
 */
import { MaskFormatError } from './errors.ts';
import type { BboxXywh, RleMask } from './rle.ts';
import { rleMerge } from './rle.ts';

const SCALE = 5;
/** Pixels beyond the image edge within which polygons are rasterised unclipped (pycocotools-exact). */
export const CLIP_MARGIN = 64;

/** C `(int)v` for finite doubles (truncation toward zero). */
const cint = (v: number): number => Math.trunc(v);

/**
 * The polygon's first k points, clipped (Sutherland-Hodgman) to the image grown by CLIP_MARGIN pixels on every side
 * when some vertex lies beyond that: the walk below costs the perimeter, so a coordinate of 1e8 would take
 * gigabytes. Polygons within the margin (real annotations stray a few pixels at most) are untouched and rasterise
 * exactly as pycocotools; clipped ones may differ from it by the 1/5-pixel rounding along the clipped edges.
 */
function clipFar(xy: ArrayLike<number>, k: number, h: number, w: number): ArrayLike<number> {
  const b = CLIP_MARGIN;
  const [x0, y0, x1, y1] = [-b, -b, w + b, h + b];
  let far = false;
  for (let j = 0; j < k && !far; j++) far = xy[2 * j] < x0 || xy[2 * j] > x1 || xy[2 * j + 1] < y0 || xy[2 * j + 1] > y1;
  if (!far) return xy;
  let pts = Array.prototype.slice.call(xy, 0, 2 * k) as number[];
  // Each side as (coordinate index, bound, keep values above the bound).
  for (const [c, bound, above] of [[0, x0, true], [0, x1, false], [1, y0, true], [1, y1, false]] as const) {
    const out: number[] = [];
    const n = pts.length / 2;
    const inside = (j: number) => (above ? pts[2 * j + c] >= bound : pts[2 * j + c] <= bound);
    for (let j = 0; j < n; j++) {
      const i = (j + n - 1) % n;
      if (inside(j) !== inside(i)) {
        const t = (bound - pts[2 * i + c]) / (pts[2 * j + c] - pts[2 * i + c]);
        const p = [pts[2 * i] + t * (pts[2 * j] - pts[2 * i]), pts[2 * i + 1] + t * (pts[2 * j + 1] - pts[2 * i + 1])];
        p[c] = bound;
        out.push(p[0], p[1]);
      }
      if (inside(j)) out.push(pts[2 * j], pts[2 * j + 1]);
    }
    pts = out;
  }
  return pts;
}

/**
 * Rasterises one polygon [x0, y0, x1, y1, ...] (pixel coordinates, implicitly closed) to an h x w RLE, exactly as
 * pycocotools `frPyObjects([poly], h, w)`. An odd trailing coordinate is ignored (as `len(p)/2` in pycocotools).
 */
export function polygonToRle(xy: ArrayLike<number>, h: number, w: number): RleMask {
  let k = Math.floor(xy.length / 2);
  for (let i = 0; i < 2 * k; i++) {
    if (!Number.isFinite(xy[i])) throw new MaskFormatError(`polygon coordinate ${i} is not a finite number: ${xy[i]}`);
  }
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new MaskFormatError(`invalid mask size [${h}, ${w}]`);
  }
  if (h * w > 2 ** 32 - 1) throw new MaskFormatError(`mask size [${h}, ${w}] has more than 2^32 - 1 pixels: RLE counts cannot hold it`);
  const pts = clipFar(xy, k, h, w);
  k = Math.floor(pts.length / 2);
  if (k === 0) return { h, w, counts: Uint32Array.of(h * w) };
  // Upsampled integer vertices, closed.
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = cint(SCALE * pts[j * 2] + 0.5);
  for (let j = 0; j < k; j++) y[j] = cint(SCALE * pts[j * 2 + 1] + 0.5);
  x[k] = x[0];
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    if (dx >= dy) {
      // dx == dy == 0 is a repeated vertex: C computes 0/0 and a garbage v that is never read (its column equals
      // both neighbours'); we store ys.
      const s = dx === 0 ? 0 : (ye - ys) / dx;
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = cint(ys + s * t + 0.5);
        m++;
      }
    } else {
      const s = (xe - xs) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = cint(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Points along the y-boundaries, downsampled to pixel centres.
  const total = m;
  const bx = new Int32Array(total);
  const by = new Int32Array(total);
  m = 0;
  for (let j = 1; j < total; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / SCALE - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / SCALE - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx[m] = xd;
    by[m] = yd;
    m++;
  }
  // Column-major boundary positions -> sorted -> deltas -> runs (a zero delta cancels two toggles).
  const nb = m + 1;
  const a = new Float64Array(nb);
  for (let j = 0; j < m; j++) a[j] = bx[j] * h + by[j];
  a[m] = h * w;
  a.sort();
  let p = 0;
  for (let j = 0; j < nb; j++) {
    const t = a[j];
    a[j] -= p;
    p = t;
  }
  const b = new Uint32Array(nb);
  let j = 0;
  let n = 0;
  b[n++] = a[j++];
  while (j < nb) {
    if (a[j] > 0) b[n++] = a[j++];
    else {
      j++;
      if (j < nb) b[n - 1] += a[j++];
    }
  }
  return { h, w, counts: b.slice(0, n) };
}

/** Union of several polygons of one object (COCO `annToRLE` for polygon segmentations). */
export function polygonsToRle(polys: readonly ArrayLike<number>[], h: number, w: number): RleMask {
  if (polys.length === 0) return { h, w, counts: Uint32Array.of(h * w) };
  return rleMerge(
    polys.map((p) => polygonToRle(p, h, w)),
    false,
  );
}

/** Box [x, y, w, h] to RLE, as pycocotools `frPyObjects([bbox], h, w)` (rasterised as a 4-point polygon). */
export function bboxToRle(bb: readonly number[], h: number, w: number): RleMask {
  if (bb.length !== 4) throw new MaskFormatError(`bbox must have 4 numbers, got ${bb.length}`);
  const xs = bb[0];
  const xe = xs + bb[2];
  const ys = bb[1];
  const ye = ys + bb[3];
  return polygonToRle([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** Shoelace area of one polygon (COCO stores the sum of these as `area` for polygon annotations). */
export function polygonArea(xy: ArrayLike<number>): number {
  const k = Math.floor(xy.length / 2);
  let s = 0;
  for (let i = 0; i < k; i++) {
    const j = (i + 1) % k;
    s += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
  }
  return Math.abs(s) / 2;
}

/** Extent [x, y, w, h] of the polygons' vertices (how COCO tools wrote `bbox` for polygon annotations). */
export function polygonsExtent(polys: readonly ArrayLike<number>[]): BboxXywh {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of polys) {
    for (let i = 0; i + 1 < p.length; i += 2) {
      x0 = Math.min(x0, p[i]);
      x1 = Math.max(x1, p[i]);
      y0 = Math.min(y0, p[i + 1]);
      y1 = Math.max(y1, p[i + 1]);
    }
  }
  if (x0 === Infinity) return [0, 0, 0, 0];
  return [x0, y0, x1 - x0, y1 - y0];
}
