/** 8-bit images as interleaved (HWC) typed arrays, and plain tensor results for the model code to wrap. */
import { PreprocessError } from './errors.ts';

/** An 8-bit image, rows top to bottom, `channels` interleaved values per pixel (3 = RGB, 1 = grey/mask). */
export interface Image8 {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** A plain tensor: row-major data and its shape (wrapped into a library tensor by the model code). */
export interface PlainTensor<T extends Float32Array | Uint8Array = Float32Array> {
  data: T;
  shape: number[];
}

/** Browser-style RGBA pixels (`ImageData`, `OffscreenCanvasRenderingContext2D.getImageData`). */
export interface RgbaPixels {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

export function checkImage(img: Image8, what = 'image'): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new PreprocessError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (!Number.isInteger(channels) || channels <= 0) throw new PreprocessError(`${what}: channels must be a positive integer, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new PreprocessError(`${what}: data has ${data.length} values, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
}

export function newImage(width: number, height: number, channels: number, fill?: readonly number[]): Image8 {
  const data = new Uint8Array(width * height * channels);
  if (fill !== undefined && fill.some((v) => v !== 0)) {
    for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = fill[c];
  }
  return { data, width, height, channels };
}

/** RGBA -> RGB by dropping alpha, as Pillow's `convert('RGB')` does (no compositing). */
export function imageFromRgba(px: RgbaPixels): Image8 {
  const n = px.width * px.height;
  if (px.data.length !== n * 4) {
    throw new PreprocessError(`RGBA pixels: data has ${px.data.length} values, expected ${px.width}x${px.height}x4`);
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = px.data[i * 4];
    out[i * 3 + 1] = px.data[i * 4 + 1];
    out[i * 3 + 2] = px.data[i * 4 + 2];
  }
  const img = { data: out, width: px.width, height: px.height, channels: 3 };
  checkImage(img, 'RGBA pixels');
  return img;
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst` (Pillow `paste`). */
export function paste(dst: Image8, src: Image8, x: number, y: number): void {
  if (dst.channels !== src.channels) throw new PreprocessError(`paste: channel mismatch ${src.channels} -> ${dst.channels}`);
  const c = dst.channels;
  const x0 = Math.max(0, x);
  const x1 = Math.min(dst.width, x + src.width);
  if (x1 <= x0) return;
  for (let yy = Math.max(0, y); yy < Math.min(dst.height, y + src.height); yy++) {
    const s = ((yy - y) * src.width + (x0 - x)) * c;
    dst.data.set(src.data.subarray(s, s + (x1 - x0) * c), (yy * dst.width + x0) * c);
  }
}

/** Rows y0..y1-1, columns x0..x1-1 (exclusive ends, as numpy slicing; the box must lie inside the image). */
export function crop(img: Image8, x0: number, y0: number, x1: number, y1: number): Image8 {
  if (x0 < 0 || y0 < 0 || x1 > img.width || y1 > img.height || x1 < x0 || y1 < y0) {
    throw new PreprocessError(`crop box [${x0}, ${y0}, ${x1}, ${y1}] is outside the ${img.width}x${img.height} image`);
  }
  const c = img.channels;
  const out = newImage(x1 - x0, y1 - y0, c);
  for (let y = y0; y < y1; y++) {
    out.data.set(img.data.subarray((y * img.width + x0) * c, (y * img.width + x1) * c), (y - y0) * (x1 - x0) * c);
  }
  return out;
}

/** The image as a plain uint8 tensor of shape [height, width, channels] (no copy). */
export function imageToTensor(img: Image8): PlainTensor<Uint8Array> {
  return { data: img.data, shape: [img.height, img.width, img.channels] };
}
