/**
 * Post-processing of one decode (segllm-reference.md 4.8): drop the background queries; class 1 (reference) = mean of
 * the logits over tokens [0, split), class 2 (target) = mean over [split, T); prob = sqrt(sigmoid(class) *
 * sigmoid(iou)); class-aware NMS (IoU 0.7) on the normalised xyxy boxes with score = max over classes; top-k
 * (k = min(100, 2 * kept)) over the kept (query, class) pairs; masks bilinear x4 to the padded frame and sigmoid >
 * 0.5 (cropped to the padded image size). SegLLM's answer is the best target-class detection (label 1; when no target pair survives, the first
 * detection, as the reference code's argmax does). Masks and boxes can be mapped from the padded frame back to the
 * original image (crop to the resized size, nearest resize to the original size).
 */
import { batchedNms, interpolate, tensor, tidy } from '@segllm/tensor';
import type { HipieConfig } from './config.ts';
import type { HipieOutputs } from './model.ts';

export interface Detection {
  /** Foreground query index (after dropping the background queries). */
  query: number;
  /** 0 = reference phrase (tokens [0, split)), 1 = target phrase. */
  label: number;
  score: number;
  /** [x0, y0, x1, y1] in pixels of the padded frame. */
  box: [number, number, number, number];
}

export interface Segmentation {
  /** Detections after NMS and top-k, by decreasing score. */
  detections: Detection[];
  /** Index into detections of SegLLM's answer. */
  best: number;
  /** The answer's mask in the padded frame (H x W, 0/1). */
  mask: Uint8Array;
  /** Masks of every detection in the padded frame (only with allMasks). */
  masks?: Uint8Array[];
  /** Frame of `mask`: [H, W]. */
  maskSize: [number, number];
}

export interface PostprocessOptions {
  nmsThreshold?: number;
  maxDetections?: number;
  /** Also threshold the masks of every detection (costs one x4 upsampling each). */
  allMasks?: boolean;
}

/** Mean of the class logits over token ranges -> [Qf, 2] as plain numbers, per query. */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export async function postprocess(out: HipieOutputs, c: HipieConfig, o: PostprocessOptions = {}): Promise<Segmentation> {
  const B = c.num_bg_queries;
  const [, Q, T] = out.logits.shape;
  const Qf = Q - B;
  const logits = Float32Array.from(await out.logits.data());
  const iou = Float32Array.from(await out.iou.data());
  const boxes = Float32Array.from(await out.boxes.data());
  const split = c.phrase_split;
  const prob = new Float32Array(Qf * 2);
  const xyxy = new Float32Array(Qf * 4);
  for (let q = 0; q < Qf; q++) {
    const row = (B + q) * T;
    let a = 0;
    let b = 0;
    for (let t = 0; t < split; t++) a += logits[row + t];
    for (let t = split; t < T; t++) b += logits[row + t];
    const si = sigmoid(iou[B + q]);
    prob[2 * q] = Math.sqrt(sigmoid(a / split) * si);
    prob[2 * q + 1] = Math.sqrt(sigmoid(b / (T - split)) * si);
    const [cx, cy, w, h] = boxes.subarray((B + q) * 4, (B + q) * 4 + 4);
    xyxy.set([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], 4 * q);
  }
  const scores = Float32Array.from({ length: Qf }, (_, q) => Math.max(prob[2 * q], prob[2 * q + 1]));
  const labels = Int32Array.from({ length: Qf }, (_, q) => (prob[2 * q + 1] > prob[2 * q] ? 1 : 0));
  const [bT, sT, lT] = [tensor(xyxy, { shape: [Qf, 4] }), tensor(scores), tensor(labels, { dtype: 'int32' })];
  const keepT = await batchedNms(bT, sT, lT, o.nmsThreshold ?? 0.7);
  const keep = Array.from(await keepT.data());
  for (const t of [bT, sT, lT, keepT]) t.dispose();
  // top-k over the kept (query, class) pairs, ties by lower index (torch.topk on the flattened [kept, 2] scores).
  const pairs = keep.flatMap((q, i) => [0, 1].map((l) => ({ i: 2 * i + l, q, l, s: prob[2 * q + l] })));
  pairs.sort((x, y) => y.s - x.s || x.i - y.i);
  const k = Math.min(o.maxDetections ?? 100, 2 * keep.length);
  const [H, W] = out.imageSize;
  const detections: Detection[] = pairs.slice(0, k).map(({ q, l, s }) => {
    const bx = xyxy.subarray(4 * q, 4 * q + 4);
    return { query: q, label: l, score: s, box: [bx[0] * W, bx[1] * H, bx[2] * W, bx[3] * H] };
  });
  let best = 0;
  for (let i = 0; i < detections.length; i++) {
    const s = detections[i].label === 0 ? -1 : detections[i].score;
    const sb = detections[best].label === 0 ? -1 : detections[best].score;
    if (s > sb) best = i;
  }
  const maskOf = async (q: number): Promise<Uint8Array> => {
    const m = tidy(() => {
      const logit = out.masks.select(0, 0).narrow(0, B + q, 1); // [1, 1, h, w] at stride mask_out_stride
      const s = c.mask_out_stride;
      const up = interpolate(logit, { size: [logit.shape[2] * s, logit.shape[3] * s], mode: 'bilinear', alignCorners: false }); // [1, 1, s h, s w]
      return up.narrow(2, 0, H).narrow(3, 0, W).sigmoid().gt(0.5); // cropped to the padded image size
    });
    const data = await m.data();
    m.dispose();
    return Uint8Array.from(data as ArrayLike<number>);
  };
  if (detections.length === 0) return { detections, best: -1, mask: new Uint8Array(H * W), maskSize: [H, W] };
  const masks = o.allMasks ? await Promise.all(detections.map((d) => maskOf(d.query))) : undefined;
  const mask = masks ? masks[best] : await maskOf(detections[best].query);
  return { detections, best, mask, masks, maskSize: [H, W] };
}

/**
 * Maps a mask of the padded frame [H, W] back to the original image: crop to the resized size [h', w'] (the image
 * before padding), then nearest-neighbour resize to [h, w] (torch's nearest: source = floor(dst * in / out)).
 */
export function maskToOriginal(mask: Uint8Array, frame: [number, number], resized: [number, number], original: [number, number]): Uint8Array {
  const [, W] = frame;
  const [rh, rw] = resized;
  const [h, w] = original;
  const out = new Uint8Array(h * w);
  const sy = Math.fround(rh / h);
  const sx = Math.fround(rw / w);
  for (let y = 0; y < h; y++) {
    const yy = Math.min(Math.floor(Math.fround(y * sy)), rh - 1);
    for (let x = 0; x < w; x++) out[y * w + x] = mask[yy * W + Math.min(Math.floor(Math.fround(x * sx)), rw - 1)];
  }
  return out;
}

/** Maps a box [x0, y0, x1, y1] of the padded frame to the original image (scale by original / resized, clip). */
export function boxToOriginal(box: readonly number[], resized: [number, number], original: [number, number]): [number, number, number, number] {
  const [rh, rw] = resized;
  const [h, w] = original;
  const fx = w / rw;
  const fy = h / rh;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [clip(box[0] * fx, w), clip(box[1] * fy, h), clip(box[2] * fx, w), clip(box[3] * fy, h)];
}
