/**
 * Box utilities with torchvision semantics: boxes are [..., 4] in xyxy (x1, y1, x2, y2) or cxcywh. Conversions,
 * area, pairwise IoU and generalized IoU are differentiable composites; nms / batchedNms read the data back
 * (async) and return int32 indices of the kept boxes, sorted by decreasing score.
 */
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { tensor } from '../../tensor.ts';
import { stack } from '../join/join.ts';

function checkBoxes(op: string, b: Tensor, pairwise = false): void {
  if (b.rank < 1 || b.shape[b.rank - 1] !== 4 || (pairwise && b.rank !== 2)) {
    throw new ShapeError(`${op}: expected boxes ${pairwise ? '[N, 4]' : '[..., 4]'}, got ${fmtShape(b.shape)}`);
  }
}

function coords(b: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  return [0, 1, 2, 3].map((i) => b.select(-1, i)) as [Tensor, Tensor, Tensor, Tensor];
}

/** (cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2). */
export function boxCxcywhToXyxy(b: Tensor): Tensor {
  checkBoxes('boxCxcywhToXyxy', b);
  return tidy(() => {
    const [cx, cy, w, h] = coords(b);
    const hw = w.mul(0.5);
    const hh = h.mul(0.5);
    return stack([cx.sub(hw), cy.sub(hh), cx.add(hw), cy.add(hh)], -1);
  });
}

/** (x1, y1, x2, y2) -> ((x1 + x2)/2, (y1 + y2)/2, x2 - x1, y2 - y1). */
export function boxXyxyToCxcywh(b: Tensor): Tensor {
  checkBoxes('boxXyxyToCxcywh', b);
  return tidy(() => {
    const [x1, y1, x2, y2] = coords(b);
    return stack([x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)], -1);
  });
}

/** (x2 - x1) * (y2 - y1) of xyxy boxes [..., 4] -> [...]. */
export function boxArea(b: Tensor): Tensor {
  checkBoxes('boxArea', b);
  return tidy(() => {
    const [x1, y1, x2, y2] = coords(b);
    return x2.sub(x1).mul(y2.sub(y1));
  });
}

/** Pairwise intersection-over-union and union of xyxy boxes [N, 4] x [M, 4] -> [N, M] each. */
function iouAndUnion(a: Tensor, b: Tensor): [Tensor, Tensor] {
  const areaA = boxArea(a).unsqueeze(1); // [N, 1]
  const areaB = boxArea(b).unsqueeze(0); // [1, M]
  const lt = a.slice(1, 0, 2).unsqueeze(1).maximum(b.slice(1, 0, 2).unsqueeze(0)); // [N, M, 2]
  const rb = a.slice(1, 2, 4).unsqueeze(1).minimum(b.slice(1, 2, 4).unsqueeze(0)); // [N, M, 2]
  const wh = rb.sub(lt).clamp(0); // [N, M, 2]
  const inter = wh.select(-1, 0).mul(wh.select(-1, 1)); // [N, M]
  const union = areaA.add(areaB).sub(inter); // [N, M]
  return [inter.div(union), union];
}

/** Pairwise IoU of xyxy boxes: [N, 4] x [M, 4] -> [N, M] (torchvision.ops.box_iou). */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkBoxes('boxIou', boxes1, true);
  checkBoxes('boxIou', boxes2, true);
  return tidy(() => iouAndUnion(boxes1, boxes2)[0]);
}

/** Pairwise generalized IoU: iou - (area(C) - union) / area(C), C the smallest enclosing box. [N, 4] x [M, 4] -> [N, M]. */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkBoxes('generalizedBoxIou', boxes1, true);
  checkBoxes('generalizedBoxIou', boxes2, true);
  return tidy(() => {
    const [iou, union] = iouAndUnion(boxes1, boxes2);
    const lt = boxes1.slice(1, 0, 2).unsqueeze(1).minimum(boxes2.slice(1, 0, 2).unsqueeze(0)); // [N, M, 2]
    const rb = boxes1.slice(1, 2, 4).unsqueeze(1).maximum(boxes2.slice(1, 2, 4).unsqueeze(0)); // [N, M, 2]
    const wh = rb.sub(lt).clamp(0); // [N, M, 2]
    const area = wh.select(-1, 0).mul(wh.select(-1, 1)); // [N, M]
    return iou.sub(area.sub(union).div(area));
  });
}

/** Greedy NMS over host arrays; `cls` (optional) restricts suppression to boxes of the same class. */
function greedy(b: ArrayLike<number>, s: ArrayLike<number>, thr: number, cls?: ArrayLike<number>): number[] {
  const n = s.length;
  // Decreasing score; ties keep the lower index first (a stable sort).
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => s[j] - s[i] || i - j);
  const area = (i: number) => (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
  const dead = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n; a++) {
    const i = order[a];
    if (dead[i]) continue;
    keep.push(i);
    const ai = area(i);
    for (let c = a + 1; c < n; c++) {
      const j = order[c];
      if (dead[j] || (cls && cls[j] !== cls[i])) continue;
      const w = Math.max(0, Math.min(b[4 * i + 2], b[4 * j + 2]) - Math.max(b[4 * i], b[4 * j]));
      const h = Math.max(0, Math.min(b[4 * i + 3], b[4 * j + 3]) - Math.max(b[4 * i + 1], b[4 * j + 1]));
      const inter = w * h;
      if (inter / (ai + area(j) - inter) > thr) dead[j] = 1;
    }
  }
  return keep;
}

function checkNms(op: string, boxes: Tensor, scores: Tensor, classes?: Tensor): void {
  checkBoxes(op, boxes, true);
  const n = boxes.shape[0];
  if (scores.rank !== 1 || scores.shape[0] !== n) throw new ShapeError(`${op}: scores ${fmtShape(scores.shape)} must be [${n}]`);
  if (classes && (classes.rank !== 1 || classes.shape[0] !== n)) throw new ShapeError(`${op}: classes ${fmtShape(classes.shape)} must be [${n}]`);
}

/**
 * torchvision.ops.nms: keeps boxes greedily by decreasing score, dropping those with IoU > iouThreshold against a
 * kept box. Returns int32 indices [K] sorted by decreasing score (on the boxes' backend).
 */
export async function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Promise<Tensor> {
  checkNms('nms', boxes, scores);
  const keep = greedy(await boxes.data(), await scores.data(), iouThreshold);
  return tensor(Int32Array.from(keep), { backend: boxes.backend });
}

/** torchvision.ops.batched_nms: NMS within each class independently; indices sorted by decreasing score. */
export async function batchedNms(boxes: Tensor, scores: Tensor, classes: Tensor, iouThreshold: number): Promise<Tensor> {
  checkNms('batchedNms', boxes, scores, classes);
  const keep = greedy(await boxes.data(), await scores.data(), iouThreshold, await classes.data());
  return tensor(Int32Array.from(keep), { backend: boxes.backend });
}
