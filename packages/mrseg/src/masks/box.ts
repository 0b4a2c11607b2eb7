/** Box IoU in the two conventions used here. */

/** IoU of two [x0, y0, x1, y1] boxes (as torchvision `box_iou`, used by the SegLLM evaluation); 0 if both empty. */
export function boxIouXyxy(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = iw > 0 && ih > 0 ? iw * ih : 0;
  const ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

/**
 * IoU of [x, y, w, h] boxes as pycocotools `bbIou` for one pair: with `iscrowd` the union is the detection's area.
 */
export function boxIouXywh(dt: readonly number[], gt: readonly number[], iscrowd = false): number {
  const w = Math.min(dt[2] + dt[0], gt[2] + gt[0]) - Math.max(dt[0], gt[0]);
  if (w <= 0) return 0;
  const h = Math.min(dt[3] + dt[1], gt[3] + gt[1]) - Math.max(dt[1], gt[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const da = dt[2] * dt[3];
  const u = iscrowd ? da : da + gt[2] * gt[3] - i;
  return i / u;
}

export const xywhToXyxy = (b: readonly number[]): [number, number, number, number] => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
export const xyxyToXywh = (b: readonly number[]): [number, number, number, number] => [b[0], b[1], b[2] - b[0], b[3] - b[1]];
