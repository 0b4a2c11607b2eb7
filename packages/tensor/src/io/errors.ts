/** Every failure of the safetensors reader and writer is a `SafetensorsError` with a machine-readable `code`. */
export type SafetensorsErrorCode =
  | 'FILE_TOO_SMALL' // fewer than 8 bytes
  | 'HEADER_TOO_LARGE' // declared header length above 100 MB
  | 'HEADER_LENGTH' // declared header length runs past the end of the file
  | 'HEADER_NOT_UTF8'
  | 'HEADER_NOT_JSON'
  | 'HEADER_NOT_OBJECT'
  | 'INVALID_METADATA' // __metadata__ is not a string -> string map
  | 'INVALID_ENTRY' // a tensor entry is not {dtype, shape, data_offsets}
  | 'UNKNOWN_DTYPE'
  | 'INVALID_SHAPE'
  | 'INVALID_OFFSETS' // data_offsets is not [begin, end] with 0 <= begin <= end
  | 'SIZE_MISMATCH' // shape x itemsize != end - begin
  | 'OFFSETS_OUT_OF_BOUNDS' // a tensor ends past the data section
  | 'OVERLAP' // two tensors share bytes
  | 'GAP' // bytes between two tensors belong to none (the reference implementation rejects holes)
  | 'TRAILING_BYTES' // the data section is longer than the tensors it holds
  | 'TENSOR_NOT_FOUND'
  | 'UNSUPPORTED_DTYPE' // a valid safetensors dtype this library cannot represent (F8 ...)
  | 'INT_OVERFLOW' // an I64/U64/U32 value does not fit int32
  | 'READ_FAILED' // the file changed or could not be read after opening
  | 'NOT_A_FILE' // the path is a folder (or a device), not a file
  | 'CLOSED'
  | 'INVALID_INDEX' // *.safetensors.index.json is malformed
  | 'SHARD_MISSING' // a shard named by the index does not exist
  | 'SHARD_LACKS_TENSOR' // the index maps a tensor to a shard that does not hold it
  | 'INVALID_TENSOR' // write: dtype, shape and data disagree
  | 'TOO_LARGE'; // an allocation this runtime cannot make

export interface SafetensorsErrorDetails {
  /** The file (or source label) the error concerns. */
  file?: string;
  /** The tensor the error concerns. */
  tensor?: string;
  cause?: unknown;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  readonly code: SafetensorsErrorCode;
  readonly file: string | undefined;
  readonly tensor: string | undefined;

  constructor(code: SafetensorsErrorCode, message: string, details: SafetensorsErrorDetails = {}) {
    const where = details.file !== undefined ? `${details.file}: ` : '';
    super(`${where}${message}`, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.file = details.file;
    this.tensor = details.tensor;
  }
}

export function isSafetensorsError(e: unknown, code?: SafetensorsErrorCode): e is SafetensorsError {
  return e instanceof SafetensorsError && (code === undefined || e.code === code);
}
