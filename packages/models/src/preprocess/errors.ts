/** Bytes that are not a readable PNG or JPEG image (or an image source the browser could not decode). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad arguments to a preprocessing function (sizes, boxes, buffer lengths). */
export class PreprocessError extends Error {
  override readonly name = 'PreprocessError';
  constructor(message: string) {
    super(message);
  }
}
