/**
 * SegLLM per-round segmentation metrics (segllm-reference.md section 7), computed on RLE masks directly.
 *
 * Per predicted mask: intersection I and union U with its ground truth, IoU = I / (U + 1e-4), and the box IoU
 * between the predicted box [x0, y0, x1, y1] and the ground-truth mask's tight box [x0, y0, x1 + 1, y1 + 1].
 * Per round k (1-based; a conversation contributes to round k only if it has a k-th round) and overall:
 * - cIoU (= oIoU) = sum(I) / sum(U)   (0 when sum(U) = 0),
 * - mIoU (= gIoU) = mean of the per-mask IoU,
 * - P@0.5 = fraction of masks with box IoU > 0.5,
 * - n = number of masks.
 */
import { boxIouXyxy } from '../masks/box.ts';
import { rleIntersectionUnion, rleToBoxXyxy, type RleMask } from '../masks/rle.ts';

/** IoU denominator epsilon of the official evaluation. */
export const IOU_EPS = 1e-4;

export type BoxXyxy = [number, number, number, number];

/** The measurements of one predicted mask against its ground truth. */
export interface MaskScore {
  intersection: number;
  union: number;
  /** intersection / (union + 1e-4). */
  iou: number;
  /** Box IoU of the predicted box and the ground-truth mask's tight box (0 when either is missing/empty). */
  boxIou: number;
}

export interface RoundMetrics {
  cIoU: number;
  mIoU: number;
  'P@0.5': number;
  n: number;
}

export interface MetricsResult {
  /** Keyed by the 1-based round number as a string ("1", "2", ...), ascending. */
  rounds: Record<string, RoundMetrics>;
  overall: RoundMetrics;
}

/**
 * Scores one prediction. `predBox` defaults to the predicted mask's tight box (exclusive max), which is what the
 * model's box is when it is derived from its mask.
 */
export function scoreMask(gt: RleMask, pred: RleMask, predBox?: readonly number[] | null): MaskScore {
  const { intersection, union } = rleIntersectionUnion(pred, gt);
  const gtBox = rleToBoxXyxy(gt);
  const pb = predBox === undefined ? rleToBoxXyxy(pred) : predBox;
  const boxIou = gtBox && pb ? boxIouXyxy(pb, gtBox) : 0;
  return { intersection, union, iou: intersection / (union + IOU_EPS), boxIou };
}

class Sums {
  inter = 0;
  union = 0;
  iouSum = 0;
  hits = 0;
  n = 0;
  add(s: MaskScore): void {
    this.inter += s.intersection;
    this.union += s.union;
    this.iouSum += s.iou;
    if (s.boxIou > 0.5) this.hits++;
    this.n++;
  }
  metrics(): RoundMetrics {
    return {
      cIoU: this.union > 0 ? this.inter / this.union : 0,
      mIoU: this.n > 0 ? this.iouSum / this.n : 0,
      'P@0.5': this.n > 0 ? this.hits / this.n : 0,
      n: this.n,
    };
  }
}

/** Accumulates per-mask scores into per-round and overall metrics. */
export class MetricsAccumulator {
  private readonly rounds = new Map<number, Sums>();
  private readonly all = new Sums();

  /** Adds one scored mask to round `round` (1-based). */
  addScore(round: number, s: MaskScore): void {
    if (!Number.isInteger(round) || round < 1) throw new RangeError(`round must be an integer >= 1, got ${round}`);
    let r = this.rounds.get(round);
    if (!r) {
      r = new Sums();
      this.rounds.set(round, r);
    }
    r.add(s);
    this.all.add(s);
  }

  /** Scores and adds one prediction. */
  add(round: number, gt: RleMask, pred: RleMask, predBox?: readonly number[] | null): MaskScore {
    const s = scoreMask(gt, pred, predBox);
    this.addScore(round, s);
    return s;
  }

  result(): MetricsResult {
    const rounds: Record<string, RoundMetrics> = {};
    for (const k of [...this.rounds.keys()].sort((a, b) => a - b)) rounds[String(k)] = this.rounds.get(k)!.metrics();
    return { rounds, overall: this.all.metrics() };
  }
}
