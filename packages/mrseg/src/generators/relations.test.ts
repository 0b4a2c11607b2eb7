import { describe, expect, it } from 'vitest';
import { RELATIONS, boxIouXywh, pairLocationWords, relation, type Relation } from './relations.ts';
import type { Box } from './types.ts';

// Reference box B spans x 100..200, y 100..200. Each case places A's centre in one cell of B's 3x3 grid.
const B: Box = [100, 100, 100, 100];
const at = (cx: number, cy: number, w = 20, h = 20): Box => [cx - w / 2, cy - h / 2, w, h];

describe('relation', () => {
  const cases: [string, Box, Relation][] = [
    ['centre inside B', at(150, 150), 'overlapping'],
    ['left of the left edge, middle row', at(50, 150), 'left'],
    ['right of the right edge, middle row', at(250, 150), 'right'],
    ['above the top edge, middle column', at(150, 50), 'above'],
    ['below the bottom edge, middle column', at(150, 250), 'below'],
    ['top-left corner cell', at(50, 50), 'top-left'],
    ['top-right corner cell', at(250, 50), 'top-right'],
    ['bottom-left corner cell', at(50, 250), 'bottom-left'],
    ['bottom-right corner cell', at(250, 250), 'bottom-right'],
    ['near-identical box (IoU >= 0.9)', [101, 101, 99, 99], 'same'],
    ['centre exactly on the left edge counts as the middle column', at(100, 150), 'overlapping'],
    ['centre exactly on the bottom edge counts as the middle row', at(150, 200), 'overlapping'],
    ['big box overlapping B whose centre is to the left', [0, 90, 180, 120], 'left'],
  ];
  for (const [name, a, want] of cases) {
    it(`${name} -> ${want}`, () => expect(relation(a, B)).toBe(want));
  }

  it('same annotation id gives "same" whatever the boxes', () => {
    expect(relation(at(50, 50), B, true)).toBe('same');
  });

  it('every relation is produced and the directions swap when the boxes swap', () => {
    const seen = new Set<Relation>(cases.map((c) => relation(c[1], B)));
    expect([...seen].sort()).toEqual([...RELATIONS].sort());
    expect(relation(B, at(50, 50))).toBe('bottom-right');
    expect(relation(B, at(250, 150))).toBe('left');
  });

  it('box IoU', () => {
    expect(boxIouXywh([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150, 12);
    expect(boxIouXywh([0, 0, 10, 10], [20, 20, 5, 5])).toBe(0);
    expect(boxIouXywh([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it('pair location words follow the dominant axis', () => {
    expect(pairLocationWords([0, 0, 10, 10], [100, 5, 10, 10])).toEqual(['on the left', 'on the right']);
    expect(pairLocationWords([100, 0, 10, 10], [0, 5, 10, 10])).toEqual(['on the right', 'on the left']);
    expect(pairLocationWords([0, 0, 10, 10], [5, 100, 10, 10])).toEqual(['at the top', 'at the bottom']);
    expect(pairLocationWords([0, 100, 10, 10], [5, 0, 10, 10])).toEqual(['at the bottom', 'at the top']);
  });
});
