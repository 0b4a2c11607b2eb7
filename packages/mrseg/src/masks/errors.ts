/** Typed errors of the mask utilities. */

/** Malformed mask input: a bad RLE string, counts that do not sum to h*w, a polygon with too few points, ... */
export class MaskFormatError extends Error {
  override readonly name = 'MaskFormatError';
}

/** Two masks that should share a frame have different sizes. */
export class MaskSizeMismatchError extends Error {
  override readonly name = 'MaskSizeMismatchError';
  constructor(
    readonly a: readonly [number, number],
    readonly b: readonly [number, number],
  ) {
    super(`mask sizes differ: [${a[0]}, ${a[1]}] vs [${b[0]}, ${b[1]}]`);
  }
}
