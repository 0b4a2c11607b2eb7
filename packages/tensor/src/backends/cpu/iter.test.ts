import { describe, expect, it } from 'vitest';
import { contiguousStrides } from '../../shape.ts';
import { collapseDims, forEachOffset, forEachRow } from './iter.ts';

type V = { strides: number[]; offset: number };

/** Every (element, offsets) pair forEachRow visits, expanded per element, in visiting order. */
function rowWalk(shape: number[], views: V[]): number[][] {
  const out: number[][] = [];
  forEachRow(shape, views, (offs, n, steps) => {
    for (let i = 0; i < n; i++) out.push(offs.map((o, j) => o + i * steps[j]));
  });
  return out;
}

function offsetWalk(shape: number[], views: V[]): number[][] {
  const out: number[][] = [];
  forEachOffset(shape, views, (_i, offs) => out.push([...offs]));
  return out;
}

const dense = (shape: number[], offset = 0): V => ({ strides: contiguousStrides(shape), offset });

describe('forEachRow', () => {
  it('visits the same offsets in the same order as forEachOffset on every layout kind', () => {
    const cases: [number[], V[]][] = [
      [[2, 3, 4], [dense([2, 3, 4]), dense([2, 3, 4], 5)]],
      // row vector [4] broadcast over [2, 3, 4]; column [2, 3, 1] broadcast along the last dim; a scalar
      [[2, 3, 4], [dense([2, 3, 4]), { strides: [0, 0, 1], offset: 0 }, { strides: [3, 1, 0], offset: 1 }, { strides: [0, 0, 0], offset: 7 }]],
      // a transposed [4, 3] view of a [3, 4] storage; a sliced view (every other column, offset 1)
      [[4, 3], [{ strides: [1, 4], offset: 0 }, { strides: [6, 2], offset: 1 }, dense([4, 3])]],
      // size-1 dims with arbitrary strides, a 0-d shape, an empty shape
      [[1, 5, 1, 2], [{ strides: [99, 2, 7, 1], offset: 3 }, dense([1, 5, 1, 2])]],
      [[], [{ strides: [], offset: 4 }, { strides: [], offset: 0 }]],
      [[3, 0, 2], [dense([3, 0, 2])]],
      // reduce kernel layouts: leading dims reduced (output stride 0), trailing dims reduced
      [[3, 2, 4], [dense([3, 2, 4]), { strides: [0, 0, 1], offset: 0 }]],
      [[3, 2, 4], [dense([3, 2, 4]), { strides: [1, 0, 0], offset: 0 }]],
      [[3, 2, 4], [dense([3, 2, 4]), { strides: [4, 0, 1], offset: 0 }]],
    ];
    for (const [shape, views] of cases) expect(rowWalk(shape, views)).toEqual(offsetWalk(shape, views));
  });

  it('merges a dense same-shape walk into a single row and keeps non-mergeable dims apart', () => {
    expect(collapseDims([2, 3, 4], [[12, 4, 1], [12, 4, 1]])).toEqual({ shape: [24], strides: [[1], [1]] });
    expect(collapseDims([2, 3, 4], [[12, 4, 1], [0, 0, 1]])).toEqual({ shape: [6, 4], strides: [[4, 1], [0, 1]] });
    expect(collapseDims([4, 3], [[1, 4], [3, 1]])).toEqual({ shape: [4, 3], strides: [[1, 4], [3, 1]] });
    const rows: number[] = [];
    forEachRow([2, 3, 4], [dense([2, 3, 4]), dense([2, 3, 4])], (_o, n) => rows.push(n));
    expect(rows).toEqual([24]);
  });
});
