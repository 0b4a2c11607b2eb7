import { describe, expect, it } from 'vitest';
import {
  IOU_EPS,
  MetricsAccumulator,
  MetricsInputError,
  bboxToRle,
  evaluateRecords,
  readMaskRecords,
  rleEmpty,
  rleToCoco,
  rleToPaddedFrame,
  scoreMask,
  type RleMask,
} from '../src/index.ts';

const box = (b: number[], h = 4, w = 4): RleMask => bboxToRle(b, h, w);
const rec = (conv_id: string | number, round: number, m: RleMask, b?: number[]): Record<string, unknown> => ({
  conv_id,
  round,
  mask: rleToCoco(m),
  ...(b ? { box: b } : {}),
});

/** A hand-computed case: 3 conversations (1, 2 and 3 rounds) on 4x4 masks, one prediction missing. */
const CASE = {
  gt: [
    rec('a', 1, box([0, 0, 2, 2])),
    rec('a', 2, box([0, 0, 4, 1])),
    rec('b', 1, box([1, 1, 2, 2]), [1, 1, 3, 3]),
    rec(7, 1, box([0, 0, 1, 1])),
    rec(7, 2, box([0, 0, 4, 4])),
    rec(7, 3, box([3, 3, 1, 1])),
  ],
  pred: [
    rec('a', 1, box([0, 0, 2, 2]), [0, 0, 2, 2]), // I 4, U 4, box IoU 1
    rec('a', 2, box([0, 0, 2, 1]), [0, 0, 2, 1]), // I 2, U 4, box IoU 0.5 (not > 0.5)
    rec('b', 1, box([2, 2, 2, 2]), [2, 2, 4, 4]), // I 1, U 7, box IoU 1/7
    rec('7', 1, rleEmpty(4, 4), [0, 0, 1, 1]), // I 0, U 1, box IoU 1 (the box alone can hit)
    rec(7, 2, box([0, 0, 4, 2]), [0, 0, 4, 3]), // I 8, U 16, box IoU 0.75
    // (7, 3) missing: empty mask, I 0, U 1, box IoU 0
  ],
};

const e = IOU_EPS;
const EXPECTED = {
  rounds: {
    '1': { cIoU: 5 / 12, mIoU: (4 / (4 + e) + 1 / (7 + e) + 0) / 3, 'P@0.5': 2 / 3, n: 3 },
    '2': { cIoU: 10 / 20, mIoU: (2 / (4 + e) + 8 / (16 + e)) / 2, 'P@0.5': 1 / 2, n: 2 },
    '3': { cIoU: 0, mIoU: 0, 'P@0.5': 0, n: 1 },
  },
  overall: { cIoU: 15 / 33, mIoU: (4 / (4 + e) + 1 / (7 + e) + 2 / (4 + e) + 8 / (16 + e)) / 6, 'P@0.5': 3 / 6, n: 6 },
};

function expectClose(got: unknown, want: unknown): void {
  const g = got as { rounds: Record<string, Record<string, number>>; overall: Record<string, number> };
  const w = want as typeof g;
  expect(Object.keys(g.rounds)).toEqual(Object.keys(w.rounds));
  for (const k of Object.keys(w.rounds)) for (const m of Object.keys(w.rounds[k])) expect(g.rounds[k][m]).toBeCloseTo(w.rounds[k][m], 12);
  for (const m of Object.keys(w.overall)) expect(g.overall[m]).toBeCloseTo(w.overall[m], 12);
}

describe('scoreMask', () => {
  it('intersection, union, IoU with the 1e-4 epsilon, box IoU against the GT tight box', () => {
    const s = scoreMask(box([0, 0, 4, 1]), box([0, 0, 2, 1]), [0, 0, 2, 1]);
    expect(s).toEqual({ intersection: 2, union: 4, iou: 2 / 4.0001, boxIou: 0.5 });
    // Default predicted box = the predicted mask's tight box.
    expect(scoreMask(box([0, 0, 2, 2]), box([1, 0, 2, 2])).boxIou).toBeCloseTo(2 / 6, 12);
    // Empty ground truth: no GT box, box IoU 0; IoU 0/(0+eps) = 0.
    expect(scoreMask(rleEmpty(4, 4), rleEmpty(4, 4), [0, 0, 1, 1])).toEqual({ intersection: 0, union: 0, iou: 0, boxIou: 0 });
  });
});

describe('evaluateRecords', () => {
  it('matches the hand-computed per-round and overall values', () => {
    const gt = readMaskRecords(CASE.gt, 'gt', false);
    const pred = readMaskRecords(CASE.pred, 'pred', true);
    expectClose(evaluateRecords(gt, pred), EXPECTED);
  });

  it('MetricsAccumulator gives the same numbers', () => {
    const acc = new MetricsAccumulator();
    acc.add(1, box([0, 0, 2, 2]), box([0, 0, 2, 2]), [0, 0, 2, 2]);
    acc.add(2, box([0, 0, 4, 1]), box([0, 0, 2, 1]), [0, 0, 2, 1]);
    acc.add(1, box([1, 1, 2, 2]), box([2, 2, 2, 2]), [2, 2, 4, 4]);
    acc.add(1, box([0, 0, 1, 1]), rleEmpty(4, 4), [0, 0, 1, 1]);
    acc.add(2, box([0, 0, 4, 4]), box([0, 0, 4, 2]), [0, 0, 4, 3]);
    acc.add(3, box([3, 3, 1, 1]), rleEmpty(4, 4), null);
    expectClose(acc.result(), EXPECTED);
    expect(() => acc.add(0, rleEmpty(1, 1), rleEmpty(1, 1))).toThrow(RangeError);
  });

  it('typed errors: duplicate, unknown key, unknown field, bad rounds, missing box, bad RLE', () => {
    const err = (f: () => unknown, re: RegExp): void => {
      expect(f).toThrow(MetricsInputError);
      expect(f).toThrow(re);
    };
    const gt = readMaskRecords(CASE.gt, 'gt', false);
    err(() => readMaskRecords([...CASE.gt, CASE.gt[0]], 'gt', false), /gt\[6\]: duplicate key \(conv_id "a", round 1\)/);
    err(() => readMaskRecords([rec(7, 1, rleEmpty(4, 4), [0, 0, 1, 1]), rec('7', 1, rleEmpty(4, 4), [0, 0, 1, 1])], 'pred', true), /duplicate key/);
    err(() => evaluateRecords(gt, readMaskRecords([rec('zz', 1, rleEmpty(4, 4), [0, 0, 1, 1])], 'pred', true)), /unknown key \(conv_id "zz", round 1\)/);
    err(() => evaluateRecords(gt, readMaskRecords([rec('a', 3, rleEmpty(4, 4), [0, 0, 1, 1])], 'pred', true)), /unknown key/);
    err(() => readMaskRecords([{ ...CASE.gt[0], score: 1 }], 'gt', false), /unknown field "score"/);
    err(() => readMaskRecords([{ ...CASE.gt[0], round: 0 }], 'gt', false), /1-based/);
    err(() => readMaskRecords([rec('a', 1, rleEmpty(4, 4))], 'pred', true), /box: missing/);
    err(() => readMaskRecords([{ conv_id: 'a', round: 1, mask: { size: [4, 4], counts: '0' } }], 'gt', false), /sum to 0/);
    err(() => readMaskRecords([{ conv_id: 'a', round: 1, mask: { size: [4, 4], counts: [16] } }], 'gt', false), /COCO RLE string/);
    err(() => readMaskRecords({}, 'gt', false), /JSON array/);
    err(() => evaluateRecords(readMaskRecords([rec('a', 2, rleEmpty(4, 4))], 'gt', false), []), /has rounds 2 \(expected 1\.\.1\)/);
    err(() => evaluateRecords(gt, readMaskRecords([rec('a', 1, rleEmpty(5, 4), [0, 0, 1, 1])], 'pred', true)), /differs/);
  });

  it('frames: padded (1024 x 1024) and original resolution', () => {
    const gtMask = bboxToRle([100, 50, 200, 120], 480, 640);
    const predPadded = rleToPaddedFrame(gtMask); // exact x1.6 scaling of an integer box
    const gt = readMaskRecords([rec('c', 1, gtMask)], 'gt', false);
    const pred = readMaskRecords([rec('c', 1, predPadded, [160, 80, 480, 272])], 'pred', true);
    const perfect = { rounds: { '1': { cIoU: 1, mIoU: 1 / (1 + e / (320 * 192)), 'P@0.5': 1, n: 1 } }, overall: { cIoU: 1, mIoU: 1 / (1 + e / (320 * 192)), 'P@0.5': 1, n: 1 } };
    expectClose(evaluateRecords(gt, pred, { frame: 'padded' }), perfect);
    const orig = { ...perfect, rounds: { '1': { ...perfect.rounds['1'], mIoU: 1 / (1 + e / (200 * 120)) } }, overall: { ...perfect.overall, mIoU: 1 / (1 + e / (200 * 120)) } };
    expectClose(evaluateRecords(gt, pred, { frame: 'original' }), orig);
    expect(() => evaluateRecords(gt, pred)).toThrow(/use frame 'padded' or 'original'/);
    // A prediction at the original size is mapped into the padded frame too (box scaled by 1.6).
    const predOrig = readMaskRecords([rec('c', 1, gtMask, [100, 50, 300, 170])], 'pred', true);
    expectClose(evaluateRecords(gt, predOrig, { frame: 'padded' }), perfect);
    // Missing prediction in the padded frame: empty 1024 x 1024 mask.
    const r = evaluateRecords(gt, [], { frame: 'padded' });
    expect(r.overall).toEqual({ cIoU: 0, mIoU: 0, 'P@0.5': 0, n: 1 });
  });
});
