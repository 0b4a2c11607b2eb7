/**
 * Positional relations between two boxes, computed from their edges and centres.
 *
 * `relation(a, b)` says where box A (the round's target) lies relative to box B (an earlier round's output).
 * Boxes are COCO [x, y, w, h]; the right edge is x + w and the bottom edge y + h; y grows downwards.
 *
 * 1. `same`: A and B are the same annotation (equal ids), or IoU(A, B) >= 0.9.
 * 2. Otherwise B's four edges cut the plane into a 3 x 3 grid and A's centre (cx, cy) picks the cell:
 *    - column: `left` if cx < B.x, `right` if cx > B.x + B.w, else the middle column (edges count as middle);
 *    - row: `above` if cy < B.y, `below` if cy > B.y + B.h, else the middle row;
 *    - corner cells give `top-left`, `top-right`, `bottom-left`, `bottom-right`; the side cells give `left`,
 *      `right`, `above`, `below`;
 *    - the centre cell (A's centre inside B, edges included) gives `overlapping`.
 */
import type { Box } from './types.ts';

export type Relation =
  | 'same'
  | 'overlapping'
  | 'left'
  | 'right'
  | 'above'
  | 'below'
  | 'top-left'
  | 'top-right'
  | 'bottom-left'
  | 'bottom-right';

export const RELATIONS: readonly Relation[] = [
  'same',
  'overlapping',
  'left',
  'right',
  'above',
  'below',
  'top-left',
  'top-right',
  'bottom-left',
  'bottom-right',
];

/** IoU threshold above which two different annotations count as "the same". */
export const SAME_IOU = 0.9;

/** The phrase that follows "that is" in a query: "that is to the left of instance 2". */
export const RELATION_PHRASES: Record<Relation, string> = {
  same: 'the same as',
  overlapping: 'overlapping with',
  left: 'to the left of',
  right: 'to the right of',
  above: 'above',
  below: 'below',
  'top-left': 'to the top-left of',
  'top-right': 'to the top-right of',
  'bottom-left': 'to the bottom-left of',
  'bottom-right': 'to the bottom-right of',
};

/** Intersection over union of two [x, y, w, h] boxes (0 when both are empty). */
export function boxIouXywh(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/** Where box `a` lies relative to box `b` (see the module comment for the exact rule). */
export function relation(a: Box, b: Box, sameId = false): Relation {
  if (sameId || boxIouXywh(a, b) >= SAME_IOU) return 'same';
  const cx = a[0] + a[2] / 2;
  const cy = a[1] + a[3] / 2;
  const col = cx < b[0] ? -1 : cx > b[0] + b[2] ? 1 : 0;
  const row = cy < b[1] ? -1 : cy > b[1] + b[3] ? 1 : 0;
  if (row === 0 && col === 0) return 'overlapping';
  if (row === 0) return col < 0 ? 'left' : 'right';
  if (col === 0) return row < 0 ? 'above' : 'below';
  if (row < 0) return col < 0 ? 'top-left' : 'top-right';
  return col < 0 ? 'bottom-left' : 'bottom-right';
}

/**
 * Location words that tell two instances of one class apart (LVIS / Shapes captions): the axis along which the
 * centres differ more decides; ties go to the horizontal axis. Returns [words for a, words for b].
 */
export function pairLocationWords(a: Box, b: Box): [string, string] {
  const dx = a[0] + a[2] / 2 - (b[0] + b[2] / 2);
  const dy = a[1] + a[3] / 2 - (b[1] + b[3] / 2);
  if (Math.abs(dx) >= Math.abs(dy)) return dx <= 0 ? ['on the left', 'on the right'] : ['on the right', 'on the left'];
  return dy < 0 ? ['at the top', 'at the bottom'] : ['at the bottom', 'at the top'];
}
