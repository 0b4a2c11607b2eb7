/** Typed errors of the annotation readers. */

/** Malformed annotation data; `path` names the offending field (e.g. "annotations[3].bbox"). */
export class AnnotationFormatError extends Error {
  override readonly name = 'AnnotationFormatError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

/** A pickle this reader refuses or cannot parse (`offset` = byte position of the opcode). */
export class PickleError extends Error {
  override readonly name: string = 'PickleError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

/** A pickle opcode outside the safe data-only subset (GLOBAL, REDUCE, BUILD, ...): never executed. */
export class PickleUnsupportedOpcodeError extends PickleError {
  override readonly name = 'PickleUnsupportedOpcodeError';
  constructor(
    readonly opcode: string,
    offset: number,
  ) {
    super(`unsupported pickle opcode ${opcode}: only plain data (lists, dicts, tuples, strings, numbers) is read`, offset);
  }
}

/** A PNG that is malformed or uses a feature this decoder does not support. */
export class PngFormatError extends Error {
  override readonly name = 'PngFormatError';
}
