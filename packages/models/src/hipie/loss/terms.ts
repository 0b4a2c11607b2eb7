/**
 * The loss terms of HIPIE's SetCriterion with OTA on (deformable_detr.py), differentiable compositions; the normaliser
 * M is the number of matched queries and adj = M / (M + 1e-6) (every instance is a "thing"):
 * - `lossLabelsVL`: token sigmoid focal loss (alpha 0.25, gamma 2) summed over all queries x tokens, / M;
 * - `lossBoxes`: L1 (cxcywh) and fvcore GIoU summed x adj / M; with IoU logits, mean BCE against the plain IoU x adj;
 * - `lossMasks`: focal loss at the points averaged per instance and dice, both summed over instances / M.
 */
import { binaryCrossEntropyWithLogits, boxCxcywhToXyxy, diceLoss, fromStorageArray, noGrad, sigmoidFocalLoss, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { giouLoss, pairedIou } from './boxes.ts';
import type { Match } from './matcher.ts';
import { pointSample } from './points.ts';

const fr = Math.fround;

/** Upstream's `x.sum() * 0` for each key: zeros that keep the graph (and give zero gradients). */
function zeroTerms(x: Tensor, keys: readonly string[]): Map<string, Tensor> {
  return new Map(keys.map((k) => [k, x.sum().mul(0)]));
}

function matchedCount(matches: readonly Match[]): number {
  return matches.reduce((a, m) => a + m.query.length, 0);
}

/** (b, q) of every match as flat indices b * Q + q, image by image (the _get_src_permutation_idx order). */
function flatIndex(matches: readonly Match[], Q: number, backend: Tensor['backend']): Tensor {
  const idx = Int32Array.from(matches.flatMap((m, b) => m.query.map((q) => b * Q + q)));
  return fromStorageArray(idx, [idx.length], 'int32', { backend });
}

/** loss_labelsVL: logits [B, Q, K]; positiveMaps[b][t] = the K-token map of target t of image b. */
export function lossLabelsVL(logits: Tensor, matches: readonly Match[], positiveMaps: readonly (readonly (readonly number[])[])[]): Tensor {
  const [B, Q, K] = logits.shape;
  const M = matchedCount(matches);
  return tidy(() => {
    if (M === 0) return logits.sum().mul(0);
    const onehot = new Float32Array(B * Q * K);
    matches.forEach((m, b) => m.query.forEach((q, i) => onehot.set(positiveMaps[b][m.target[i]].map(Number), (b * Q + q) * K)));
    const t = fromStorageArray(onehot, [B, Q, K], 'float32', { backend: logits.backend }).to(logits.dtype);
    return sigmoidFocalLoss(logits, t, { reduction: 'sum' }).div(M);
  });
}

/**
 * loss_boxes: boxes [B, Q, 4] cxcywh, target boxes per image [T_b * 4] cxcywh, optional IoU logits [B, Q, 1].
 * Returns loss_bbox, loss_giou and (with IoU logits and at least one match) loss_boxiou.
 */
export function lossBoxes(boxes: Tensor, iouLogits: Tensor | undefined, matches: readonly Match[], targetBoxes: readonly ArrayLike<number>[]): Map<string, Tensor> {
  const [B, Q] = boxes.shape;
  const M = matchedCount(matches);
  return tidy(() => {
    if (M === 0) return zeroTerms(boxes, ['loss_bbox', 'loss_giou']);
    const out = new Map<string, Tensor>();
    const idx = flatIndex(matches, Q, boxes.backend);
    const src = boxes.reshape([B * Q, 4]).indexSelect(0, idx); // [M, 4]
    const tgtHost = new Float32Array(M * 4);
    let r = 0;
    matches.forEach((m, b) => m.target.forEach((t) => tgtHost.set(Array.from(targetBoxes[b]).slice(4 * t, 4 * t + 4), 4 * r++)));
    const tgt = fromStorageArray(tgtHost, [M, 4], 'float32', { backend: boxes.backend }).to(boxes.dtype); // [M, 4]
    const adj = fr(fr(1 / fr(M + 1e-6)) * M);
    const srcXyxy = boxCxcywhToXyxy(src);
    const tgtXyxy = boxCxcywhToXyxy(tgt);
    out.set('loss_bbox', src.sub(tgt).abs().mul(adj).sum().div(M));
    out.set('loss_giou', giouLoss(srcXyxy, tgtXyxy).mul(adj).sum().div(M));
    if (iouLogits) {
      const iouT = noGrad(() => pairedIou(srcXyxy.detach(), tgtXyxy)); // [M]
      const s = iouLogits.reshape([B * Q]).indexSelect(0, idx); // [M]
      out.set('loss_boxiou', binaryCrossEntropyWithLogits(s, iouT, { reduction: 'mean' }).mul(adj));
    }
    return out;
  });
}

/**
 * loss_masks at given points: mask logits [M, h, w] (matched instances in match order), binary targets at the same
 * stride [M, h, w], points [M, P, 2]. Returns loss_mask and loss_dice.
 */
export function lossMasks(maskLogits: Tensor, targetMasks: Tensor, points: Tensor): Map<string, Tensor> {
  const M = maskLogits.shape[0];
  return tidy(() => {
    if (M === 0) return zeroTerms(maskLogits, ['loss_mask', 'loss_dice']);
    const out = new Map<string, Tensor>();
    const labels = noGrad(() => pointSample(targetMasks, points.to(maskLogits.dtype))); // [M, P]
    const logits = pointSample(maskLogits, points.to(maskLogits.dtype)); // [M, P]
    out.set('loss_mask', sigmoidFocalLoss(logits, labels).mean(1).sum().div(M));
    out.set('loss_dice', diceLoss(logits, labels).sum().div(M));
    return out;
  });
}
