/**
 * HIPIE / segment-anything `ResizeLongestSide(1024)` preprocessing as SegLLM runs it, mask resizing, and the
 * inference-time mask-encode crop and box-encode vector (see goldens/make_segllm_io_goldens.py (the repo copy of the shared generator)).
 */
import { checkImage, crop, newImage, paste } from './image.ts';
import type { Image8, PlainTensor } from './image.ts';
import { clipPreprocess } from './clip.ts';
import { PreprocessError } from './errors.ts';
import { resizePillow } from './resample.ts';

export const HIPIE_SIZE = 1024;
export const HIPIE_MEAN: readonly number[] = [123.675, 116.28, 103.53];
export const HIPIE_STD: readonly number[] = [58.395, 57.12, 57.375];

/** Pre-pad size after `ResizeLongestSide`: s = target/max(h, w), (int(h*s + 0.5), int(w*s + 0.5)). */
export function longestSideSize(width: number, height: number, target = HIPIE_SIZE): { width: number; height: number } {
  const scale = target / Math.max(width, height);
  return { width: Math.trunc(width * scale + 0.5), height: Math.trunc(height * scale + 0.5) };
}

export interface HipieInput {
  /** The resized image before padding, uint8 HWC [h, w, 3]. */
  resized: Image8;
  /** Zero-padded (bottom/right) uint8 RGB image, `size` x `size`. */
  padded: Image8;
  /** Pre-pad size [h, w] (HIPIE's `input_size`). */
  inputSizeHw: [number, number];
  /** (padded - mean) / std, [3, size, size] float32. */
  normalized: PlainTensor;
}

function zeroPad(img: Image8, size: number): Image8 {
  const out = newImage(size, size, img.channels);
  paste(out, img, 0, 0);
  return out;
}

/** Longest side to `size` with Pillow bilinear on uint8, zero pad to size x size, normalise by HIPIE's mean/std. */
export function hipiePreprocess(img: Image8, size = HIPIE_SIZE): HipieInput {
  checkImage(img);
  if (img.channels !== 3) throw new PreprocessError(`HIPIE preprocessing needs an RGB image, got ${img.channels} channels`);
  const t = longestSideSize(img.width, img.height, size);
  const resized = resizePillow(img, t.width, t.height, 'bilinear');
  const padded = zeroPad(resized, size);
  const { data, width: W, height: H } = padded;
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < H * W; i++) out[c * H * W + i] = (data[i * 3 + c] - HIPIE_MEAN[c]) / HIPIE_STD[c];
  }
  return { resized, padded, inputSizeHw: [t.height, t.width], normalized: { data: out, shape: [3, H, W] } };
}

/**
 * A mask on the original image (one channel, values 0/1 or 0/255) resized like the image (Pillow bilinear on the
 * 'L' image) and zero-padded to size x size: uint8 [size, size].
 */
export function resizeMask(mask: Image8, size = HIPIE_SIZE): PlainTensor<Uint8Array> {
  checkImage(mask, 'mask');
  if (mask.channels !== 1) throw new PreprocessError(`a mask must have one channel, got ${mask.channels}`);
  const t = longestSideSize(mask.width, mask.height, size);
  const padded = zeroPad(resizePillow(mask, t.width, t.height, 'bilinear'), size);
  return { data: padded.data, shape: [size, size] };
}

/** Integer box as the SegLLM CLI casts it: trunc, clip to [0, size], and at least 2 pixels wide and tall. */
export function intBox(boxXyxy: readonly number[], size = HIPIE_SIZE): [number, number, number, number] {
  if (boxXyxy.length !== 4 || boxXyxy.some((v) => !Number.isFinite(v))) {
    throw new PreprocessError(`a box needs 4 finite numbers [x0, y0, x1, y1], got ${JSON.stringify(boxXyxy)}`);
  }
  const clip = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const [x0, y0, x1, y1] = boxXyxy.map((v) => clip(Math.trunc(v), 0, size));
  return [x0, y0, clip(x1, x0 + 2, size), clip(y1, y0 + 2, size)];
}

export interface MaskEncodeInput {
  /** CLIP-224 pixel values of the masked crop, [3, 224, 224]. */
  pixelValues: PlainTensor;
  /** The int box used for the crop, [x0, y0, x1, y1]. */
  box: [number, number, number, number];
}

/**
 * SegLLM's inference mask encoding input: zero the padded 1024 image outside `mask`, crop with the int-cast
 * predicted box (exclusive ends), paste top-left on a zero square of side max(w, h), CLIP preprocess.
 */
export function maskEncodeCrop(padded: Image8, mask: PlainTensor<Uint8Array>, boxXyxy: readonly number[], clipSize = 224): MaskEncodeInput {
  checkImage(padded, 'padded image');
  const [mh, mw] = mask.shape;
  if (mask.shape.length !== 2 || mh !== padded.height || mw !== padded.width || mask.data.length !== mh * mw) {
    throw new PreprocessError(`mask shape [${mask.shape.join(', ')}] must equal the image's [${padded.height}, ${padded.width}]`);
  }
  const size = Math.max(padded.width, padded.height);
  const box = intBox(boxXyxy, size);
  const [x0, y0, x1, y1] = box;
  if (x1 > padded.width || y1 > padded.height || x1 <= x0 || y1 <= y0) {
    throw new PreprocessError(`box [${box.join(', ')}] is empty or outside the ${padded.width}x${padded.height} image`);
  }
  const C = padded.channels;
  const masked = newImage(padded.width, padded.height, C);
  for (let i = 0; i < mh * mw; i++) {
    if (mask.data[i] !== 0) for (let c = 0; c < C; c++) masked.data[i * C + c] = padded.data[i * C + c];
  }
  const side = Math.max(x1 - x0, y1 - y0);
  const square = newImage(side, side, C);
  paste(square, crop(masked, x0, y0, x1, y1), 0, 0);
  return { pixelValues: clipPreprocess(square, { size: clipSize }), box };
}

/** The box-encode input `[y0, x0, y1, x1] / size` (rows first) of an int box [x0, y0, x1, y1]. */
export function boxEncodeVector(box: readonly number[], size = HIPIE_SIZE): Float32Array {
  const [x0, y0, x1, y1] = box;
  return Float32Array.from([y0, x0, y1, x1], (v) => v / size);
}
