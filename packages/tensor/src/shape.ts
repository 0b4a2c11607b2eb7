/** Shape and stride arithmetic shared by every op. */

export type Shape = readonly number[];

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides for a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: Shape): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

/** Wraps a possibly negative dim into [0, rank). */
export function normDim(dim: number, rank: number): number {
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank || !Number.isInteger(d)) throw new ShapeError(`dim ${dim} is out of range for a tensor of rank ${rank}`);
  return d;
}

/** Normalised, sorted, unique dims; `undefined` means every dim. */
export function normDims(dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  return [...new Set(list.map((d) => normDim(d, rank)))].sort((a, b) => a - b);
}

/** NumPy/PyTorch broadcasting of several shapes. */
export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else throw new ShapeError(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] cannot be broadcast together`);
    }
  }
  return out;
}

/** Resolves one -1 in a reshape target. */
export function inferShape(shape: readonly number[], total: number): number[] {
  const neg = shape.indexOf(-1);
  if (neg >= 0) {
    const known = shape.reduce((a, d, i) => (i === neg ? a : a * d), 1);
    if (known === 0 || total % known !== 0) throw new ShapeError(`cannot reshape ${total} elements into [${shape.join(', ')}]`);
    const out = [...shape];
    out[neg] = total / known;
    return out;
  }
  if (numel(shape) !== total) throw new ShapeError(`cannot reshape ${total} elements into [${shape.join(', ')}]`);
  return [...shape];
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
