/**
 * Box helpers of the HIPIE loss, with the official code's eps conventions:
 * - host (float32-rounded, for the matcher): cxcywh -> xyxy, torchvision `box_iou` (no eps) and HIPIE's
 *   `generalized_box_iou` (eps 1e-7 on the enclosing area only), pairwise [Q, T];
 * - tensors (differentiable): paired IoU (`compute_box_iou`, no eps, used without gradient) and fvcore's `giou_loss`
 *   (eps 1e-7 in both divisions; the intersection is 0 unless both overlaps are strictly positive).
 */
import { tidy, where } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';

const fr = Math.fround;

/** Host boxes: `n` boxes as 4 consecutive numbers each. */
export type HostBoxes = ArrayLike<number>;

/** (cx, cy, w, h) -> (x0, y0, x1, y1) in float32, as box_cxcywh_to_xyxy: [n*4] -> [n*4]. */
export function cxcywhToXyxyHost(b: HostBoxes): Float32Array {
  const out = new Float32Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    const hw = fr(0.5 * b[i + 2]);
    const hh = fr(0.5 * b[i + 3]);
    out[i] = fr(b[i] - hw);
    out[i + 1] = fr(b[i + 1] - hh);
    out[i + 2] = fr(b[i] + hw);
    out[i + 3] = fr(b[i + 1] + hh);
  }
  return out;
}

/** Pixel xyxy box -> normalised cxcywh (prepare_targets: divide by [w, h, w, h], then box_xyxy_to_cxcywh). */
export function pixelXyxyToCxcywh(b: readonly number[], w: number, h: number): [number, number, number, number] {
  const x0 = fr(b[0] / w);
  const y0 = fr(b[1] / h);
  const x1 = fr(b[2] / w);
  const y1 = fr(b[3] / h);
  return [fr(fr(x0 + x1) / 2), fr(fr(y0 + y1) / 2), fr(x1 - x0), fr(y1 - y0)];
}

/** Pairwise IoU, union and GIoU of xyxy host boxes a [Q] x b [T], row-major [Q, T] (float32 rounding). */
export function pairwiseIouGiou(a: HostBoxes, b: HostBoxes): { iou: Float32Array; giou: Float32Array } {
  const Q = a.length / 4;
  const T = b.length / 4;
  const iou = new Float32Array(Q * T);
  const giou = new Float32Array(Q * T);
  for (let q = 0; q < Q; q++) {
    const [ax0, ay0, ax1, ay1] = [a[4 * q], a[4 * q + 1], a[4 * q + 2], a[4 * q + 3]];
    const areaA = fr(fr(ax1 - ax0) * fr(ay1 - ay0));
    for (let t = 0; t < T; t++) {
      const [bx0, by0, bx1, by1] = [b[4 * t], b[4 * t + 1], b[4 * t + 2], b[4 * t + 3]];
      const areaB = fr(fr(bx1 - bx0) * fr(by1 - by0));
      const iw = Math.max(0, fr(Math.min(ax1, bx1) - Math.max(ax0, bx0)));
      const ih = Math.max(0, fr(Math.min(ay1, by1) - Math.max(ay0, by0)));
      const inter = fr(iw * ih);
      const union = fr(fr(areaA + areaB) - inter);
      const v = fr(inter / union);
      const cw = Math.max(0, fr(Math.max(ax1, bx1) - Math.min(ax0, bx0)));
      const ch = Math.max(0, fr(Math.max(ay1, by1) - Math.min(ay0, by0)));
      const area = fr(cw * ch);
      iou[q * T + t] = v;
      giou[q * T + t] = fr(v - fr(fr(area - union) / fr(area + 1e-7)));
    }
  }
  return { iou, giou };
}

function coords(b: Tensor): Tensor[] {
  return [0, 1, 2, 3].map((i) => b.select(-1, i));
}

/** IoU of paired xyxy boxes [M, 4] x [M, 4] -> [M] (compute_box_iou: the diagonal of box_iou, no eps). */
export function pairedIou(a: Tensor, b: Tensor): Tensor {
  return tidy(() => {
    const [ax0, ay0, ax1, ay1] = coords(a);
    const [bx0, by0, bx1, by1] = coords(b);
    const iw = ax1.minimum(bx1).sub(ax0.maximum(bx0)).clamp(0);
    const ih = ay1.minimum(by1).sub(ay0.maximum(by0)).clamp(0);
    const inter = iw.mul(ih);
    const union = ax1.sub(ax0).mul(ay1.sub(ay0)).add(bx1.sub(bx0).mul(by1.sub(by0))).sub(inter);
    return inter.div(union);
  });
}

/** fvcore.nn.giou_loss(a, b, reduction='none') of paired xyxy boxes [M, 4] x [M, 4] -> [M], eps 1e-7. */
export function giouLoss(a: Tensor, b: Tensor, eps = 1e-7): Tensor {
  return tidy(() => {
    const [x1, y1, x2, y2] = coords(a);
    const [x1g, y1g, x2g, y2g] = coords(b);
    const xk1 = x1.maximum(x1g);
    const yk1 = y1.maximum(y1g);
    const xk2 = x2.minimum(x2g);
    const yk2 = y2.minimum(y2g);
    const overlap = yk2.gt(yk1).logicalAnd(xk2.gt(xk1)); // [M] bool
    const inter = where(overlap, xk2.sub(xk1).mul(yk2.sub(yk1)), 0);
    const union = x2.sub(x1).mul(y2.sub(y1)).add(x2g.sub(x1g).mul(y2g.sub(y1g))).sub(inter);
    const iou = inter.div(union.add(eps));
    const areaC = x2.maximum(x2g).sub(x1.minimum(x1g)).mul(y2.maximum(y2g).sub(y1.minimum(y1g)));
    return iou.sub(areaC.sub(union).div(areaC.add(eps))).neg().add(1);
  });
}
