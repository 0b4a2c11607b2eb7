/** Typed errors shared by the indexing ops. */
import type { Tensor } from '../../tensor.ts';
import { ShapeError } from '../../shape.ts';

/** An index outside [0, size) of the dim it selects from (thrown by the CPU kernels, which see the values). */
export class IndexOutOfRangeError extends RangeError {
  override name = 'IndexOutOfRangeError';
}

export function outOfRange(op: string, index: number, dim: number, size: number): IndexOutOfRangeError {
  return new IndexOutOfRangeError(
    `${op}: index ${index} is out of range for dim ${dim} of size ${size}: indices must lie in [0, ${size}) (check token ids against the vocabulary size)`,
  );
}

export class IndexDtypeError extends TypeError {
  override name = 'IndexDtypeError';
}

export function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== 'int32') throw new IndexDtypeError(`${op}: indices must be int32, got ${index.dtype}: cast them with .to('int32')`);
}

export { ShapeError };
