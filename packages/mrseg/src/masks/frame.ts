/**
 * The SegLLM/HIPIE input frame: resize the longest side to 1024 (segment-anything `ResizeLongestSide`: scale
 * s = 1024 / max(h, w), new size (int(h*s + 0.5), int(w*s + 0.5))) then zero-pad bottom/right to 1024 x 1024.
 * Ground-truth masks go into the frame exactly as the official code resizes them (PIL bilinear on the 0/1 "L"
 * image, reimplemented bit for bit); nearest-neighbour resizing on RLE runs (no pixels) is also provided, and is
 * used to map padded-frame predictions back to the original resolution.
 */
import { MaskFormatError } from './errors.ts';
import type { RleMask } from './rle.ts';
import { encodeBytes } from './convert.ts';

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

/** PIL's 8-bit fixed point (Resample.c: PRECISION_BITS = 32 - 8 - 2). */
const PIL_PRECISION_BITS = 22;

/**
 * PIL `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear (triangle) filter: for each output index its
 * first input index, its number of taps and the integer weights (row-major, `ksize` per output).
 */
function pilBilinearCoeffs(inSize: number, outSize: number): { bounds: Int32Array; kk: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      let t = Math.abs((x + xmin - center + 0.5) * ss);
      t = t < 1 ? 1 - t : 0;
      k[x] = t;
      ww += t;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? k[x] / ww : 0;
      kk[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PIL_PRECISION_BITS) : 0.5 + v * (1 << PIL_PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

const clip8 = (v: number): number => {
  const r = v >> PIL_PRECISION_BITS;
  return r < 0 ? 0 : r > 255 ? 255 : r;
};

/**
 * Resizes a mask exactly as the official preprocessing does: PIL `Image.resize(..., BILINEAR)` of the 0/1 mode-"L"
 * image (Pillow's two-pass fixed-point resampler, horizontal pass first, each pass rounding to uint8), then
 * non-zero = 1. Works on one transient byte image per call (the result is RLE).
 */
export function rleResizePilBilinear(m: RleMask, outH: number, outW: number): RleMask {
  const { h, w } = m;
  if (outH === h && outW === w) return { h, w, counts: m.counts.slice() };
  if (h === 0 || w === 0 || outH === 0 || outW === 0) return { h: outH, w: outW, counts: Uint32Array.of(outH * outW) };
  // Column-major bytes of the input (x * h + y).
  let img = new Uint8Array(h * w);
  let p = 0;
  for (let j = 0; j < m.counts.length; j++) {
    const e = p + m.counts[j];
    if (j & 1) img.fill(1, p, e);
    p = e;
  }
  if (p !== h * w) throw new MaskFormatError(`RLE counts sum to ${p}, expected h*w = ${h * w}`);
  let cw = w;
  const half = 1 << (PIL_PRECISION_BITS - 1);
  // Vertical coefficients are computed first: PIL restricts the horizontal pass to the rows the vertical one uses.
  const vert = outH !== h ? pilBilinearCoeffs(h, outH) : null;
  let rowFirst = 0;
  let rows = h;
  if (vert) {
    rowFirst = vert.bounds[0];
    rows = vert.bounds[2 * outH - 2] + vert.bounds[2 * outH - 1] - rowFirst;
  }
  if (outW !== w) {
    const { bounds, kk, ksize } = pilBilinearCoeffs(w, outW);
    const out = new Uint8Array(rows * outW); // column-major, `rows` rows starting at rowFirst
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[2 * xx];
      const n = bounds[2 * xx + 1];
      for (let y = 0; y < rows; y++) {
        let ss = half;
        for (let x = 0; x < n; x++) ss += img[(x + xmin) * h + y + rowFirst] * kk[xx * ksize + x];
        out[xx * rows + y] = clip8(ss);
      }
    }
    img = out;
    cw = outW;
  } else if (vert) {
    // No horizontal pass: the vertical pass reads the original rows (shift the row window to 0).
    rows = h;
    rowFirst = 0;
  }
  let ch = rows;
  if (vert) {
    const { bounds, kk, ksize } = vert;
    const out = new Uint8Array(outH * cw);
    for (let x = 0; x < cw; x++) {
      for (let yy = 0; yy < outH; yy++) {
        const ymin = bounds[2 * yy] - rowFirst;
        const n = bounds[2 * yy + 1];
        let ss = half;
        for (let y = 0; y < n; y++) ss += img[x * ch + y + ymin] * kk[yy * ksize + y];
        out[x * outH + yy] = clip8(ss);
      }
    }
    img = out;
    ch = outH;
  }
  return encodeBytes(img, ch, cw, 'col'); // non-zero -> 1
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

/**
 * Original-resolution mask -> the size x size padded frame (resize longest side, pad bottom/right). The default
 * resampling is the official one (PIL bilinear on the 0/1 image, `rleResizePilBilinear`); 'nearest' samples pixel
 * centres.
 */
export function rleToPaddedFrame(m: RleMask, size = 1024, resample: 'bilinear' | 'nearest' = 'bilinear'): RleMask {
  const g = paddedFrameGeometry(m.h, m.w, size);
  const r = resample === 'bilinear' ? rleResizePilBilinear(m, g.resizedH, g.resizedW) : rleResizeNearest(m, g.resizedH, g.resizedW);
  return rlePadCrop(r, size, size);
}

/**
 * Padded-frame mask -> original resolution h x w: crop the resized region, resize back with nearest-neighbour
 * sampling (the official code never maps back; this is our choice, see segllm-reference.md 4.8).
 */
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
