/**
 * CLIP image processor (HF CLIPImageProcessor with Pillow): shortest edge to N with bicubic, centre crop NxN,
 * rescale by 1/255, normalise by the CLIP mean/std -> [3, N, N] float32. Also LLaVA's pad-to-square.
 *
 * Arithmetic follows goldens/make_segllm_io_goldens.py (the repo copy of the shared generator) exactly: the rescale is a float32 product,
 * the normalisation is done in float64 and rounded to float32 (HF's processor itself normalises in float32,
 * a difference of at most one float32 ulp).
 */
import { checkImage, newImage, paste } from './image.ts';
import type { Image8, PlainTensor } from './image.ts';
import { PreprocessError } from './errors.ts';
import { resizePillow } from './resample.ts';

export const CLIP_MEAN: readonly number[] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly number[] = [0.26862954, 0.26130258, 0.27577711];

export interface ClipOptions {
  /** Shortest edge and crop size (224 for SegLLM's CLIP-L/14, 336 for LLaVA-1.5). */
  size: number;
  mean?: readonly number[];
  std?: readonly number[];
  /** Scale factor applied before normalisation (HF `rescale_factor`). */
  rescaleFactor?: number;
}

/** Output size of HF's `get_resize_output_image_size(default_to_square=False)` for a shortest-edge resize. */
export function shortestEdgeSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** HWC uint8 -> CHW float32: `(float32(v * rescale) - mean) / std` computed in float64, stored as float32. */
export function normalizeToChw(img: Image8, mean: readonly number[], std: readonly number[], rescale: number): PlainTensor {
  const { width: W, height: H, channels: C, data } = img;
  if (mean.length !== C || std.length !== C) throw new PreprocessError(`mean/std need ${C} values, got ${mean.length}/${std.length}`);
  const out = new Float32Array(C * H * W);
  const r32 = Math.fround(rescale);
  for (let c = 0; c < C; c++) {
    const m = mean[c];
    const s = std[c];
    const base = c * H * W;
    for (let i = 0; i < H * W; i++) {
      out[base + i] = (Math.fround(data[i * C + c] * r32) - m) / s;
    }
  }
  return { data: out, shape: [C, H, W] };
}

/** CLIP pixel values [3, size, size] for an RGB image. */
export function clipPreprocess(img: Image8, options: ClipOptions): PlainTensor {
  checkImage(img);
  if (img.channels !== 3) throw new PreprocessError(`CLIP preprocessing needs an RGB image, got ${img.channels} channels`);
  const { size } = options;
  if (!Number.isInteger(size) || size <= 0) throw new PreprocessError(`CLIP size must be a positive integer, got ${size}`);
  const target = shortestEdgeSize(img.width, img.height, size);
  if (target.width < size || target.height < size) {
    throw new PreprocessError(`image ${img.width}x${img.height} is too elongated for a ${size} crop`);
  }
  const resized = resizePillow(img, target.width, target.height, 'bicubic');
  const top = Math.floor((target.height - size) / 2);
  const left = Math.floor((target.width - size) / 2);
  const cropped = newImage(size, size, 3);
  paste(cropped, resized, -left, -top);
  return normalizeToChw(cropped, options.mean ?? CLIP_MEAN, options.std ?? CLIP_STD, options.rescaleFactor ?? 1 / 255);
}

/** LLaVA's expand2square background: the CLIP mean as ints, `int(x * 255)` -> [122, 116, 104]. */
export const LLAVA_PAD_COLOR: readonly number[] = CLIP_MEAN.map((x) => Math.trunc(x * 255));

/** LLaVA's expand2square: centre the image on a square of side max(w, h) filled with `background`. */
export function expandToSquare(img: Image8, background: readonly number[] = LLAVA_PAD_COLOR): Image8 {
  checkImage(img);
  const side = Math.max(img.width, img.height);
  const sq = newImage(side, side, img.channels, background);
  paste(sq, img, Math.floor((side - img.width) / 2), Math.floor((side - img.height) / 2));
  return sq;
}

/** LLaVA-1.5 input: pad to square with the mean colour, then CLIP at `size` (336 for CLIP-L/14-336). */
export function llavaPadPreprocess(img: Image8, size = 336): PlainTensor {
  return clipPreprocess(expandToSquare(img), { size });
}
