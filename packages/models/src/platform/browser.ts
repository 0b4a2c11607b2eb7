/** The browser side of `#platform` (see ./node.ts): no pngjs; PNG bytes are decoded by the browser instead. */
export function pngCodec(): Promise<null> {
  return Promise.resolve(null);
}
