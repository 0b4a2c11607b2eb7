/** Typed errors of @segllm/core; each message says what to do. */

export class SegLLMError extends Error {
  override name = 'SegLLMError';
}

/** `[REF:k]` names a round that does not exist yet (or the current round). */
export class InvalidReferenceError extends SegLLMError {
  override name = 'InvalidReferenceError';
  constructor(
    readonly ref: number,
    readonly round: number,
  ) {
    super(
      round === 1
        ? `[REF:${ref}] in round 1: the first round has no earlier output to refer to; ask without a reference first`
        : `[REF:${ref}] in round ${round}: only rounds 1..${round - 1} have outputs to refer to`,
    );
  }
}

export class EmptyPromptError extends SegLLMError {
  override name = 'EmptyPromptError';
  constructor() {
    super('the prompt is empty (after removing [REF:k] tags): say what to segment, e.g. "Segment the dog."');
  }
}

export class ContextLengthError extends SegLLMError {
  override name = 'ContextLengthError';
  constructor(
    readonly tokens: number,
    readonly limit: number,
    /** `tokens` is a lower bound (counting stopped past the limit). */
    readonly atLeast = false,
  ) {
    super(`the conversation would be ${atLeast ? 'more than ' : ''}${atLeast ? limit : tokens} tokens, over the model's context of ${limit}: call session.reset() or undo() earlier rounds`);
  }
}

export class CheckpointError extends SegLLMError {
  override name = 'CheckpointError';
}

/** A device name or dtype the library does not know; the message lists the valid ones. */
export class InvalidOptionError extends SegLLMError {
  override name = 'InvalidOptionError';
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly valid: readonly string[],
  ) {
    super(`${option} must be one of ${valid.map((v) => `'${v}'`).join(', ')}; got ${typeof value === 'string' ? `'${value}'` : typeof value}`);
  }
}

/** Downloading a checkpoint file failed; `url` names the file. Subclasses say why. */
export class DownloadError extends SegLLMError {
  override name = 'DownloadError';
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server could not be reached or the connection failed (after the retries). */
export class NetworkError extends DownloadError {
  override name = 'NetworkError';
}

/** The server answered 404 for a file the checkpoint needs. */
export class RemoteFileNotFoundError extends DownloadError {
  override name = 'RemoteFileNotFoundError';
}

/** The server answered with an error status other than 404. */
export class HttpStatusError extends DownloadError {
  override name = 'HttpStatusError';
  constructor(
    message: string,
    url: string,
    readonly status: number,
  ) {
    super(message, url);
  }
}

/** The downloaded bytes do not match the sha256 the index or the server gave. Nothing was cached. */
export class ChecksumMismatchError extends DownloadError {
  override name = 'ChecksumMismatchError';
}

/** A file is larger than the bound for its kind (e.g. a config.json over 64 MiB); nothing was kept. */
export class RemoteFileTooLargeError extends DownloadError {
  override name = 'RemoteFileTooLargeError';
}

/** The load was cancelled through its AbortSignal. */
export class DownloadAbortedError extends DownloadError {
  override name = 'DownloadAbortedError';
}

/** A file name or redirect that would leave the checkpoint's origin or folder. */
export class UnsafeLocationError extends DownloadError {
  override name = 'UnsafeLocationError';
}
