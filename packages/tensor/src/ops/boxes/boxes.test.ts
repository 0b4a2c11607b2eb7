import { describe, expect, it } from 'vitest';
import { availableBackends, gradcheck } from '../../testing/index.ts';
import { Generator } from '../../random.ts';
import { tensor } from '../../tensor.ts';
import { ShapeError } from '../../shape.ts';
import '../index.ts';
import { batchedNms, boxArea, boxCxcywhToXyxy, boxIou, boxXyxyToCxcywh, generalizedBoxIou, nms } from './boxes.ts';

/** Random xyxy boxes (x1 < x2, y1 < y2) on a small grid so that overlaps and ties happen. */
function randomBoxes(g: Generator, n: number): number[][] {
  return Array.from({ length: n }, () => {
    const x = g.int(0, 20);
    const y = g.int(0, 20);
    return [x, y, x + 1 + g.int(0, 10), y + 1 + g.int(0, 10)];
  });
}

/** Brute force NMS: a box is kept iff no kept box of higher rank (score, then index) in its class overlaps it more than thr. */
function bruteNms(b: number[][], s: number[], thr: number, cls?: number[]): number[] {
  const iou = (p: number[], q: number[]) => {
    const w = Math.max(0, Math.min(p[2], q[2]) - Math.max(p[0], q[0]));
    const h = Math.max(0, Math.min(p[3], q[3]) - Math.max(p[1], q[1]));
    const a = (r: number[]) => (r[2] - r[0]) * (r[3] - r[1]);
    return (w * h) / (a(p) + a(q) - w * h);
  };
  const higher = (i: number, j: number) => s[j] > s[i] || (s[j] === s[i] && j < i);
  const kept = new Map<number, boolean>();
  const isKept = (i: number): boolean => {
    if (!kept.has(i)) kept.set(i, !b.some((_, j) => j !== i && higher(i, j) && (!cls || cls[i] === cls[j]) && iou(b[i], b[j]) > thr && isKept(j)));
    return kept.get(i)!;
  };
  return b.map((_, i) => i).filter(isKept).sort((i, j) => s[j] - s[i] || i - j);
}

describe('box gradchecks (float64)', () => {
  const b1 = tensor([[0, 0, 2, 3], [1, 1, 4, 2.5], [-1, 0.5, 0.7, 4]], { dtype: 'float64' });
  const b2 = tensor([[0.5, -0.5, 3, 2], [1.8, 1.5, 5, 5]], { dtype: 'float64' });
  it.each([
    ['boxIou', () => gradcheck((a, b) => boxIou(a, b), [b1, b2])],
    ['generalizedBoxIou', () => gradcheck((a, b) => generalizedBoxIou(a, b), [b1, b2])],
    ['conversions', () => gradcheck((a) => boxXyxyToCxcywh(boxCxcywhToXyxy(a).mul(a)), [b1])],
  ])('%s', (_n, f) => {
    const r = f();
    expect(r.ok, r.message).toBe(true);
  });
});

const backends = await availableBackends();

describe.each(backends)('boxes on %s', (backend) => {
  it('conversions and area by hand', async () => {
    const c = tensor([[5, 5, 4, 2], [0, 0, 1, 1]], { backend });
    const x = boxCxcywhToXyxy(c);
    expect(Array.from(await x.data())).toEqual([3, 4, 7, 6, -0.5, -0.5, 0.5, 0.5]);
    expect(Array.from(await boxXyxyToCxcywh(x).data())).toEqual(Array.from(await c.data()));
    expect(Array.from(await boxArea(x).data())).toEqual([8, 1]);
    expect(() => boxArea(tensor([1, 2, 3], { backend }))).toThrow(ShapeError);
  });

  it('pairwise IoU and generalized IoU by hand', async () => {
    const a = tensor([[0, 0, 2, 2], [0, 0, 1, 1]], { backend });
    const b = tensor([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]], { backend });
    const iou = Array.from(await boxIou(a, b).data());
    [1 / 7, 1, 0, 0, 0.25, 0].forEach((v, i) => expect(iou[i]).toBeCloseTo(v, 6));
    const giou = Array.from(await generalizedBoxIou(a, b).data());
    // a0 vs b0: enclosing 3x3 = 9, union 7 -> 1/7 - 2/9; a0 vs b2: enclosing 36, union 5 -> -31/36.
    [1 / 7 - 2 / 9, 1, -31 / 36].forEach((v, i) => expect(giou[i]).toBeCloseTo(v, 6));
    expect(giou[4]).toBeCloseTo(0.25, 6);
  });

  it('nms and batchedNms match a brute-force reference on random boxes (with ties)', async () => {
    const g = new Generator(42);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + g.int(0, 40);
      const b = randomBoxes(g, n);
      const s = Array.from({ length: n }, () => g.int(0, 8) / 8); // many ties
      const c = Array.from({ length: n }, () => g.int(0, 3));
      const thr = [0.3, 0.5, 0.7][trial % 3];
      const bt = tensor(b, { backend });
      const st = tensor(s, { backend });
      const keep = await nms(bt, st, thr);
      expect(keep.dtype).toBe('int32');
      expect(Array.from(await keep.data())).toEqual(bruteNms(b, s, thr));
      const kb = await batchedNms(bt, st, tensor(c, { backend, dtype: 'int32' }), thr);
      expect(Array.from(await kb.data())).toEqual(bruteNms(b, s, thr, c));
    }
    const empty = await nms(tensor([], { backend, shape: [0, 4] }), tensor([], { backend }), 0.5);
    expect(empty.shape).toEqual([0]);
  });
});
