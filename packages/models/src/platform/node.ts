/**
 * Node-only image codecs, selected by the `node` condition of the package's `#platform` import (package.json
 * "imports"); browsers and bundlers get ./browser.ts, so a bundle never contains pngjs (which needs Node's streams).
 */
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import type { PNG } from 'pngjs';

/** pngjs's PNG class, Node's Buffer (pngjs reads Buffers) and zlib's inflateSync (to check IDAT before decoding). */
export async function pngCodec(): Promise<{ PNG: typeof PNG; Buffer: typeof Buffer; inflateSync: typeof inflateSync }> {
  const pngjs = await import('pngjs');
  return { PNG: pngjs.PNG, Buffer, inflateSync };
}

/** The JPEG decoder's WebAssembly module, read from the installed package (browsers fetch it next to the bundle). */
export async function jpegWasmModule(specifier: string): Promise<WebAssembly.Module | undefined> {
  return WebAssembly.compile(await readFile(createRequire(import.meta.url).resolve(specifier)));
}
