/**
 * Evaluation of mask records as written by the model / the ground-truth export:
 *   [{"conv_id", "round", "mask": {"size": [h, w], "counts": <COCO RLE string>}, "box": [x0, y0, x1, y1]}, ...]
 * The box is required in predictions and optional (and unused: metrics use the ground-truth mask's tight box) in
 * the ground truth. Keys are (String(conv_id), round); rounds are 1-based and each ground-truth conversation must
 * have rounds 1..K. Missing predictions count as empty masks (box IoU 0).
 */
import { MaskFormatError } from '../masks/errors.ts';
import {
  boxFromPaddedFrame,
  boxToPaddedFrame,
  paddedFrameGeometry,
  rleFromPaddedFrame,
  rleToPaddedFrame,
} from '../masks/frame.ts';
import { rleEmpty, rleFromCoco, type RleMask } from '../masks/rle.ts';
import { MetricsAccumulator, type BoxXyxy, type MetricsResult } from './metrics.ts';

/** Invalid metrics input: malformed record, duplicate or unknown key, size mismatch. */
export class MetricsInputError extends Error {
  override readonly name = 'MetricsInputError';
}

export interface MaskRecord {
  conv_id: string;
  round: number;
  mask: RleMask;
  box?: BoxXyxy;
}

const FIELDS = new Set(['conv_id', 'round', 'mask', 'box']);

/** Validates a parsed records file. `what` names it in errors ("gt" / "pred"). */
export function readMaskRecords(data: unknown, what: string, requireBox: boolean): MaskRecord[] {
  if (!Array.isArray(data)) throw new MetricsInputError(`${what}: expected a JSON array of records`);
  const seen = new Set<string>();
  return data.map((v: unknown, i): MaskRecord => {
    const at = `${what}[${i}]`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MetricsInputError(`${at}: expected an object`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new MetricsInputError(`${at}: unknown field ${JSON.stringify(k)}`);
    if (typeof o.conv_id !== 'string' && typeof o.conv_id !== 'number') {
      throw new MetricsInputError(`${at}.conv_id: expected a string or number`);
    }
    const round = o.round;
    if (typeof round !== 'number' || !Number.isInteger(round) || round < 1) {
      throw new MetricsInputError(`${at}.round: expected an integer >= 1 (rounds are 1-based), got ${JSON.stringify(round)}`);
    }
    const convId = String(o.conv_id);
    const key = recordKey(convId, round);
    if (seen.has(key)) throw new MetricsInputError(`${at}: duplicate key (conv_id ${JSON.stringify(convId)}, round ${round})`);
    seen.add(key);
    const m = o.mask;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new MetricsInputError(`${at}.mask: expected {size, counts}`);
    const mo = m as Record<string, unknown>;
    if (typeof mo.counts !== 'string') throw new MetricsInputError(`${at}.mask.counts: expected a COCO RLE string`);
    let mask: RleMask;
    try {
      mask = rleFromCoco({ size: mo.size as [number, number], counts: mo.counts });
    } catch (e) {
      if (e instanceof MaskFormatError) throw new MetricsInputError(`${at}.mask: ${e.message}`);
      throw e;
    }
    let box: BoxXyxy | undefined;
    if (o.box !== undefined) {
      const b = o.box;
      if (!Array.isArray(b) || b.length !== 4 || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new MetricsInputError(`${at}.box: expected [x0, y0, x1, y1]`);
      }
      box = [b[0], b[1], b[2], b[3]] as BoxXyxy;
    } else if (requireBox) throw new MetricsInputError(`${at}.box: missing (predictions need [x0, y0, x1, y1])`);
    return { conv_id: convId, round, mask, ...(box ? { box } : {}) };
  });
}

const recordKey = (convId: string, round: number): string => `${convId}\u0000${round}`;

/**
 * Frame the metrics are computed in:
 * - 'as-is': ground truth and prediction must have the same size;
 * - 'padded': the 1024 x 1024 frame of the official evaluation (resize longest side to 1024, pad bottom/right);
 *   masks not already in it (size differs from 1024 x 1024) are mapped, boxes scaled;
 * - 'original': the ground truth's resolution; predictions in the padded frame are cropped and resized back.
 */
export type MetricsFrame = 'as-is' | 'padded' | 'original';

export interface EvaluateOptions {
  frame?: MetricsFrame;
  /** Side of the padded frame (1024). */
  paddedSize?: number;
}

/** Computes per-round and overall metrics of predictions against ground truth records. */
export function evaluateRecords(gt: readonly MaskRecord[], pred: readonly MaskRecord[], opts: EvaluateOptions = {}): MetricsResult {
  const frame = opts.frame ?? 'as-is';
  const S = opts.paddedSize ?? 1024;
  // Rounds of each conversation must be 1..K.
  const convRounds = new Map<string, number[]>();
  for (const r of gt) {
    const l = convRounds.get(r.conv_id);
    if (l) l.push(r.round);
    else convRounds.set(r.conv_id, [r.round]);
  }
  for (const [c, rounds] of convRounds) {
    rounds.sort((a, b) => a - b);
    rounds.forEach((r, i) => {
      if (r !== i + 1) throw new MetricsInputError(`gt: conversation ${JSON.stringify(c)} has rounds ${rounds.join(', ')} (expected 1..${rounds.length})`);
    });
  }
  const gtKeys = new Set(gt.map((r) => recordKey(r.conv_id, r.round)));
  const preds = new Map<string, MaskRecord>();
  for (const p of pred) {
    const k = recordKey(p.conv_id, p.round);
    if (!gtKeys.has(k)) throw new MetricsInputError(`pred: unknown key (conv_id ${JSON.stringify(p.conv_id)}, round ${p.round}) is not in the ground truth`);
    preds.set(k, p);
  }
  const acc = new MetricsAccumulator();
  for (const g of gt) {
    const p = preds.get(recordKey(g.conv_id, g.round));
    const where = `(conv_id ${JSON.stringify(g.conv_id)}, round ${g.round})`;
    let gm = g.mask;
    let pm = p?.mask;
    let pb: readonly number[] | null = p?.box ?? null;
    const isPadded = (m: RleMask): boolean => m.h === S && m.w === S;
    if (frame === 'padded') {
      if (!isPadded(gm)) gm = rleToPaddedFrame(gm, S);
      if (p && pm && !isPadded(pm)) {
        if (pm.h !== g.mask.h || pm.w !== g.mask.w) {
          throw new MetricsInputError(`pred ${where}: size [${pm.h}, ${pm.w}] is neither the ground truth's [${g.mask.h}, ${g.mask.w}] nor ${S} x ${S}`);
        }
        const geo = paddedFrameGeometry(pm.h, pm.w, S);
        pm = rleToPaddedFrame(pm, S);
        if (pb) pb = boxToPaddedFrame(pb, geo);
      }
    } else if (frame === 'original') {
      if (p && pm && (pm.h !== gm.h || pm.w !== gm.w)) {
        if (!isPadded(pm)) {
          throw new MetricsInputError(`pred ${where}: size [${pm.h}, ${pm.w}] is neither the ground truth's [${gm.h}, ${gm.w}] nor ${S} x ${S}`);
        }
        const geo = paddedFrameGeometry(gm.h, gm.w, S);
        pm = rleFromPaddedFrame(pm, gm.h, gm.w);
        if (pb) pb = boxFromPaddedFrame(pb, geo);
      }
    }
    if (!pm) pm = rleEmpty(gm.h, gm.w);
    if (pm.h !== gm.h || pm.w !== gm.w) {
      throw new MetricsInputError(
        `pred ${where}: size [${pm.h}, ${pm.w}] differs from the ground truth's [${gm.h}, ${gm.w}]` +
          (frame === 'as-is' ? " (use frame 'padded' or 'original' to map between the 1024 frame and the image)" : ''),
      );
    }
    acc.add(g.round, gm, pm, p ? pb : null);
  }
  return acc.result();
}
