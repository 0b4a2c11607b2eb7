/**
 * Pillow's `Image.resize` for 8-bit images (libImaging/Resample.c semantics, reimplemented): a separable
 * convolution, horizontal pass first, each pass rounded to uint8. Coefficients are computed in double precision
 * with the filter support widened by the scale factor on downscaling (antialiasing), normalised to sum 1, then
 * converted to fixed point with 22 fractional bits; accumulation starts at 0.5 (rounding) and the result is
 * clipped to 0..255.
 */
import { checkImage, newImage } from './image.ts';
import type { Image8 } from './image.ts';
import { PreprocessError } from './errors.ts';

export type ResampleFilter = 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

const PRECISION_BITS = 32 - 8 - 2;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const FILTERS: Record<ResampleFilter, { support: number; fn: (x: number) => number }> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(px));
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const A = -0.5;
      const a = Math.abs(x);
      if (a < 1) return ((A + 2) * a - (A + 3)) * a * a + 1;
      if (a < 2) return (((a - 5) * a + 8) * a - 4) * A;
      return 0;
    },
  },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

interface Coeffs {
  ksize: number;
  /** Per output index: first input index and number of taps. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output index. */
  kk: Int32Array;
}

function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: ResampleFilter): Coeffs {
  const { support: baseSupport, fn } = FILTERS[filter];
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = fn((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x] / ww : w[x];
      const f = k * (1 << PRECISION_BITS);
      kk[xx * ksize + x] = Math.trunc(k < 0 ? -0.5 + f : 0.5 + f);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = Math.max(0, xmax);
  }
  return { ksize, bounds, kk };
}

function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resizes `img` to `width` x `height` exactly as Pillow's `img.resize((width, height), filter)` on mode L/RGB. */
export function resizePillow(img: Image8, width: number, height: number, filter: ResampleFilter): Image8 {
  checkImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new PreprocessError(`resize target must be positive integers, got ${width}x${height}`);
  }
  if (!(filter in FILTERS)) throw new PreprocessError(`unknown resample filter ${JSON.stringify(filter)}`);
  const C = img.channels;
  const needH = width !== img.width;
  const needV = height !== img.height;
  if (!needH && !needV) return { ...img, data: img.data.slice() };
  const vert = precomputeCoeffs(img.height, 0, img.height, height, filter);
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[(height - 1) * 2] + vert.bounds[(height - 1) * 2 + 1];

  let cur = img;
  let rowOffset = 0; // index of cur's first row in the source image
  if (needH) {
    const hor = precomputeCoeffs(img.width, 0, img.width, width, filter);
    const tmp = newImage(width, yLast - yFirst, C);
    const src = img.data;
    const dst = tmp.data;
    for (let y = 0; y < tmp.height; y++) {
      const srow = (y + yFirst) * img.width * C;
      const drow = y * width * C;
      for (let xx = 0; xx < width; xx++) {
        const xmin = hor.bounds[xx * 2];
        const n = hor.bounds[xx * 2 + 1];
        const k0 = xx * hor.ksize;
        for (let c = 0; c < C; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < n; x++) ss += src[srow + (x + xmin) * C + c] * hor.kk[k0 + x];
          dst[drow + xx * C + c] = clip8(ss);
        }
      }
    }
    cur = tmp;
    rowOffset = yFirst;
  }
  if (!needV) return cur;
  const out = newImage(cur.width, height, C);
  const src = cur.data;
  const rowLen = cur.width * C;
  for (let yy = 0; yy < height; yy++) {
    const ymin = vert.bounds[yy * 2] - rowOffset;
    const n = vert.bounds[yy * 2 + 1];
    const k0 = yy * vert.ksize;
    const drow = yy * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < n; y++) ss += src[(y + ymin) * rowLen + i] * vert.kk[k0 + y];
      out.data[drow + i] = clip8(ss);
    }
  }
  return out;
}
