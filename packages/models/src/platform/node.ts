/**
 * Node-only image codecs, selected by the `node` condition of the package's `#platform` import (package.json
 * "imports"); browsers and bundlers get ./browser.ts, so a bundle never contains pngjs (which needs Node's streams).
 */
import { Buffer } from 'node:buffer';
import type { PNG } from 'pngjs';

/** pngjs's PNG class and Node's Buffer (pngjs reads Buffers). */
export async function pngCodec(): Promise<{ PNG: typeof PNG; Buffer: typeof Buffer }> {
  const pngjs = await import('pngjs');
  return { PNG: pngjs.PNG, Buffer };
}
