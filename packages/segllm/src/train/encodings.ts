/**
 * Reference encodings from ground-truth masks with the official TRAINING recipe (segllm-reference.md 3.3-3.4;
 * TRAIN `get_bitmask_bbox_encode`, REG `get_bbox`), shared by training samples and by ground-truth references at
 * evaluation (`eval_use_gt_mask_encode`):
 * - mask: the ORIGINAL-resolution image with pixels outside the mask zeroed (cv2.bitwise_and), cropped to the mask's
 *   tight box (rows r0..r1, cols c0..c1, both inclusive), pasted top-left on a zero square of side max(h, w), then
 *   CLIP-preprocessed (square, so resize to 224 with bicubic; the centre crop is a no-op);
 * - box: `[ymin, xmin, ymax, xmax] / S` with inclusive max indices of the mask in the padded S x S frame (the frame
 *   HIPIE sees: longest side to S with Pillow bilinear, zero padding bottom/right).
 * (Inference encodes predictions differently: 1024 frame, predicted box, exclusive ends; see maskEncodeCrop.)
 */
import { clipPreprocess, crop, newImage, paste } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import { SegLLMError } from '../errors.ts';

/** Inclusive tight extent [r0, c0, r1, c1] of a row-major mask [h, w] (nonzero = inside), or null if empty. */
export function maskExtent(mask: ArrayLike<number>, h: number, w: number): [number, number, number, number] | null {
  let r0 = h;
  let c0 = w;
  let r1 = -1;
  let c1 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (mask[row + x] === 0) continue;
      if (y < r0) r0 = y;
      if (y > r1) r1 = y;
      if (x < c0) c0 = x;
      if (x > c1) c1 = x;
    }
  }
  return r1 < 0 ? null : [r0, c0, r1, c1];
}

export class EmptyMaskError extends SegLLMError {
  override name = 'EmptyMaskError';
}

function checkMask(mask: ArrayLike<number>, h: number, w: number, what: string): [number, number, number, number] {
  if (mask.length !== h * w) throw new SegLLMError(`${what}: mask has ${mask.length} pixels, the frame ${h}x${w} needs ${h * w}`);
  const ext = maskExtent(mask, h, w);
  if (!ext) throw new EmptyMaskError(`${what}: the mask is empty, so there is nothing to encode; drop the reference`);
  return ext;
}

/** CLIP input [3, clipSize, clipSize] of a ground-truth mask (row-major [H, W], the image's own resolution). */
export function groundTruthMaskPixels(image: Image8, mask: ArrayLike<number>, clipSize = 224): Float32Array {
  const { width: W, height: H, channels: C } = image;
  const [r0, c0, r1, c1] = checkMask(mask, H, W, 'mask encoding');
  const masked = newImage(W, H, C);
  for (let i = 0; i < H * W; i++) {
    if (mask[i] !== 0) for (let c = 0; c < C; c++) masked.data[i * C + c] = image.data[i * C + c];
  }
  const side = Math.max(r1 + 1 - r0, c1 + 1 - c0);
  const square = newImage(side, side, C);
  paste(square, crop(masked, c0, r0, c1 + 1, r1 + 1), 0, 0);
  return clipPreprocess(square, { size: clipSize }).data;
}

/** Box-encode input `[ymin, xmin, ymax, xmax] / S` (inclusive max) of a mask in the padded S x S frame. */
export function groundTruthBox(padded: ArrayLike<number>, S: number): [number, number, number, number] {
  const [r0, c0, r1, c1] = checkMask(padded, S, S, 'box encoding');
  return [r0 / S, c0 / S, r1 / S, c1 / S];
}
