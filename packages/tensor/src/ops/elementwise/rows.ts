/**
 * Row loops of the CPU binary kernel: `y[oy + i*sy] = f(a[oa + i*sa], b[ob + i*sb])` for i < n, one call per
 * innermost row of backends/cpu/iter.ts forEachRow. add/sub/mul/div have their own loops (no call per element;
 * the same float64 arithmetic rounded into the output storage as the table's `cpu` functions).
 */
import type { StorageArray } from '../../dtype.ts';
import type { BinaryName } from './table.ts';

type A = StorageArray;
export type BinaryRowLoop = (as: A, oa: number, sa: number, bs: A, ob: number, sb: number, ys: A, oy: number, sy: number, n: number) => void;

export const ARITH_ROWS: Partial<Record<BinaryName, BinaryRowLoop>> = {
  add: (as, oa, sa, bs, ob, sb, ys, oy, sy, n) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = as[oa + i * sa] + bs[ob + i * sb];
  },
  sub: (as, oa, sa, bs, ob, sb, ys, oy, sy, n) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = as[oa + i * sa] - bs[ob + i * sb];
  },
  mul: (as, oa, sa, bs, ob, sb, ys, oy, sy, n) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = as[oa + i * sa] * bs[ob + i * sb];
  },
  div: (as, oa, sa, bs, ob, sb, ys, oy, sy, n) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = as[oa + i * sa] / bs[ob + i * sb];
  },
};

/** The row loop of any table row: one call of f per element. */
export function genericRow(f: (a: number, b: number) => number): BinaryRowLoop {
  return (as, oa, sa, bs, ob, sb, ys, oy, sy, n) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = f(as[oa + i * sa], bs[ob + i * sb]);
  };
}

/** Integer outputs: the result truncated toward zero. */
export function truncRow(f: (a: number, b: number) => number): BinaryRowLoop {
  return (as, oa, sa, bs, ob, sb, ys, oy, sy, n) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = Math.trunc(f(as[oa + i * sa], bs[ob + i * sb]));
  };
}
