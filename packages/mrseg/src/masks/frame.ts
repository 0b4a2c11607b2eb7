/**
 * The SegLLM/HIPIE input frame: resize the longest side to 1024 (segment-anything `ResizeLongestSide`: scale
 * s = 1024 / max(h, w), new size (int(h*s + 0.5), int(w*s + 0.5))) then zero-pad bottom/right to 1024 x 1024.
 * Masks are mapped directly on RLE, column by column, with nearest-neighbour sampling of pixel centres
 * (the official code resizes ground-truth masks with PIL bilinear on 0/1 values; nearest differs from it only
 * along boundaries).
 */
import { MaskFormatError } from './errors.ts';
import type { RleMask } from './rle.ts';

export interface FrameGeometry {
  /** Original size. */
  h: number;
  w: number;
  /** Resize factor s = size / max(h, w). */
  scale: number;
  /** Size after the resize, before padding (the official `input_size`). */
  resizedH: number;
  resizedW: number;
  /** Side of the padded square frame (1024). */
  size: number;
}

/** Geometry of the padded frame for an h x w image (as the official preprocessing). */
export function paddedFrameGeometry(h: number, w: number, size = 1024): FrameGeometry {
  if (!(h > 0 && w > 0)) throw new MaskFormatError(`invalid image size [${h}, ${w}]`);
  const scale = size / Math.max(h, w);
  return { h, w, scale, resizedH: Math.trunc(h * scale + 0.5), resizedW: Math.trunc(w * scale + 0.5), size };
}

/** Per column x, the [y0, y1) intervals of 1 pixels: ys[colStart[x] .. colStart[x+1]) as (y0, y1) pairs. */
function columnIntervals(m: RleMask): { colStart: Int32Array; ys: Int32Array } {
  const { h, w } = m;
  const colStart = new Int32Array(w + 1);
  const ys: number[] = [];
  let p = 0;
  let col = 0;
  const c = m.counts;
  for (let j = 0; j < c.length; j++) {
    const e = p + c[j];
    if (j & 1) {
      let s = p;
      while (s < e) {
        const x = Math.floor(s / h);
        while (col < x) colStart[++col] = ys.length;
        const t = Math.min(e, (x + 1) * h);
        ys.push(s - x * h, t - x * h);
        s = t;
      }
    }
    p = e;
  }
  if (p !== h * w) throw new MaskFormatError(`RLE counts sum to ${p}, expected h*w = ${h * w}`);
  while (col < w) colStart[++col] = ys.length;
  return { colStart, ys: Int32Array.from(ys) };
}

/** Builds column-major RLE counts from increasing, non-overlapping [start, end) intervals of 1s. */
class IntervalWriter {
  private out: number[] = [];
  private last = 0;
  private pendingOnes = 0;
  add(start: number, end: number): void {
    if (end <= start) return;
    if (this.pendingOnes > 0 && start === this.last) {
      this.pendingOnes += end - start;
      this.last = end;
      return;
    }
    this.flushOnes();
    this.out.push(start - this.last);
    this.pendingOnes = end - start;
    this.last = end;
  }
  private flushOnes(): void {
    if (this.pendingOnes > 0) this.out.push(this.pendingOnes);
    this.pendingOnes = 0;
  }
  finish(h: number, w: number): RleMask {
    this.flushOnes();
    if (this.out.length === 0) return { h, w, counts: Uint32Array.of(h * w) };
    const tail = h * w - this.last;
    if (tail > 0) this.out.push(tail);
    return { h, w, counts: Uint32Array.from(this.out) };
  }
}

/** Nearest-neighbour source index for each of n outputs over a source of length m (pixel-centre sampling). */
function nearestMap(n: number, m: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = Math.min(m - 1, Math.floor(((i + 0.5) * m) / n));
  return r;
}

/** Resizes an RLE mask to outH x outW with nearest-neighbour sampling, without decoding to pixels. */
export function rleResizeNearest(m: RleMask, outH: number, outW: number): RleMask {
  const { h, w } = m;
  if (outH === h && outW === w) return { h, w, counts: m.counts.slice() };
  if (h === 0 || w === 0 || outH === 0 || outW === 0) return { h: outH, w: outW, counts: Uint32Array.of(outH * outW) };
  const { colStart, ys } = columnIntervals(m);
  const colMap = nearestMap(outW, w);
  const rowMap = nearestMap(outH, h);
  // firstOut[sy] = first output row whose source row is >= sy (rowMap is monotone).
  const firstOut = new Int32Array(h + 1);
  let yo = 0;
  for (let sy = 0; sy <= h; sy++) {
    while (yo < outH && rowMap[yo] < sy) yo++;
    firstOut[sy] = yo;
  }
  const wr = new IntervalWriter();
  for (let xo = 0; xo < outW; xo++) {
    const cx = colMap[xo];
    const base = xo * outH;
    for (let k = colStart[cx]; k < colStart[cx + 1]; k += 2) {
      wr.add(base + firstOut[ys[k]], base + firstOut[ys[k + 1]]);
    }
  }
  return wr.finish(outH, outW);
}

/** Places an h x w mask at the top-left of an outH x outW frame: zero padding bottom/right, or cropping. */
export function rlePadCrop(m: RleMask, outH: number, outW: number): RleMask {
  const { colStart, ys } = columnIntervals(m);
  const wr = new IntervalWriter();
  for (let x = 0; x < Math.min(m.w, outW); x++) {
    const base = x * outH;
    for (let k = colStart[x]; k < colStart[x + 1]; k += 2) {
      wr.add(base + Math.min(ys[k], outH), base + Math.min(ys[k + 1], outH));
    }
  }
  return wr.finish(outH, outW);
}

/** Original-resolution mask -> the size x size padded frame (resize longest side, pad bottom/right). */
export function rleToPaddedFrame(m: RleMask, size = 1024): RleMask {
  const g = paddedFrameGeometry(m.h, m.w, size);
  return rlePadCrop(rleResizeNearest(m, g.resizedH, g.resizedW), size, size);
}

/** Padded-frame mask -> original resolution h x w (crop the resized region, resize back with nearest). */
export function rleFromPaddedFrame(m: RleMask, h: number, w: number): RleMask {
  if (m.h !== m.w) throw new MaskFormatError(`padded-frame mask must be square, got [${m.h}, ${m.w}]`);
  const g = paddedFrameGeometry(h, w, m.h);
  return rleResizeNearest(rlePadCrop(m, g.resizedH, g.resizedW), h, w);
}

/** Box [x0, y0, x1, y1] from original coordinates to the padded frame (scale by s; padding adds no offset). */
export function boxToPaddedFrame(box: readonly number[], g: FrameGeometry): [number, number, number, number] {
  return [box[0] * g.scale, box[1] * g.scale, box[2] * g.scale, box[3] * g.scale];
}

/** Box [x0, y0, x1, y1] from the padded frame back to original coordinates. */
export function boxFromPaddedFrame(box: readonly number[], g: FrameGeometry): [number, number, number, number] {
  return [box[0] / g.scale, box[1] / g.scale, box[2] / g.scale, box[3] / g.scale];
}
