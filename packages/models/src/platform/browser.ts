/** The browser side of `#platform` (see ./node.ts): no pngjs; PNG bytes are decoded by the browser instead. */
export function pngCodec(): Promise<null> {
  return Promise.resolve(null);
}

/** Browsers: the decoder's glue fetches its .wasm next to the bundle (or where setJpegWasm says). */
export function jpegWasmModule(_specifier: string): Promise<WebAssembly.Module | undefined> {
  return Promise.resolve(undefined);
}
