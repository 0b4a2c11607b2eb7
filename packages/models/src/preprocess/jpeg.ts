/**
 * JPEG -> RGB exactly as Pillow's `Image.open(f).convert('RGB')`: libjpeg-turbo's decoder compiled to WebAssembly
 * (the MozJPEG build of @jsquash/jpeg; MozJPEG's decoder is libjpeg-turbo's), with Pillow's settings (integer
 * IDCT, fancy upsampling, no EXIF rotation), so baseline and progressive files, every chroma subsampling and
 * grayscale give Pillow's bytes, and Node and browsers run the same decoder. A truncated file is an error, as in
 * Pillow. CMYK/YCCK files are refused (this build cannot output CMYK).
 */
import { ImageDecodeError } from './errors.ts';
import { imageFromRgba } from './image.ts';
import type { Image8 } from './image.ts';
import { jpegWasmModule } from '#platform';

/** Pillow's DecompressionBombError threshold (2 * Image.MAX_IMAGE_PIXELS). */
const MAX_PIXELS = 2 * 89_478_485;
const WASM_SPECIFIER = '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';

interface JpegModule {
  decode(data: Uint8Array, preserveOrientation: boolean): { data: Uint8ClampedArray; width: number; height: number } | null;
}
/** The Emscripten factory of @jsquash/jpeg's decoder (its own typings need ambient Emscripten types). */
type JpegFactory = (options: Record<string, unknown>) => Promise<JpegModule>;
interface Codec {
  module: JpegModule;
  /** libjpeg's messages (errors and warnings) since the last decode started. */
  messages: string[];
}

let wasmSource: WebAssembly.Module | URL | string | undefined;
let codec: Promise<Codec> | undefined;

/**
 * Where the decoder's WebAssembly comes from, for bundlers that move `mozjpeg_dec.wasm` (call before the first
 * decode): a compiled module or a URL. By default Node reads it from the installed @jsquash/jpeg and browsers
 * fetch it next to the package's glue code (Vite: list '@jsquash/jpeg' in optimizeDeps.exclude).
 */
export function setJpegWasm(source: WebAssembly.Module | URL | string): void {
  wasmSource = source;
  codec = undefined;
}

const isNode = (): boolean => typeof process === 'object' && typeof process.versions?.node === 'string';

async function wasmModule(): Promise<WebAssembly.Module | undefined> {
  if (wasmSource instanceof WebAssembly.Module) return wasmSource;
  if (wasmSource !== undefined) {
    const r = await fetch(wasmSource);
    if (!r.ok) throw new Error(`HTTP ${r.status} for ${String(wasmSource)}`);
    return WebAssembly.compile(await r.arrayBuffer()); // whatever MIME type the server sends
  }
  if (!isNode()) return undefined;
  return jpegWasmModule(WASM_SPECIFIER); // #platform: Node reads it from the installed package; browser bundles never see node:fs

}

async function loadCodec(): Promise<Codec> {
  const messages: string[] = [];
  const [glue, compiled] = await Promise.all([import('@jsquash/jpeg/codec/dec/mozjpeg_dec.js') as Promise<unknown>, wasmModule()]);
  const factory = (glue as { default: JpegFactory }).default;
  // a failure to instantiate throws here and rejects the factory (an async callback would leave it pending)
  const instantiateWasm = compiled === undefined ? undefined : (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) => {
    const instance = new WebAssembly.Instance(compiled, imports);
    done(instance);
    return instance.exports;
  };
  const module = await factory({ noInitialRun: true, instantiateWasm, printErr: (m: string) => messages.push(m), print: () => {} });
  return { module, messages };
}

/** Width, height and component count from the first SOF marker; null when the stream has none. */
export function jpegFrameHeader(bytes: Uint8Array): { width: number; height: number; components: number } | null {
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null;
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    const len = (bytes[pos + 2] << 8) | bytes[pos + 3];
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (pos + 10 > bytes.length) return null;
      return { height: (bytes[pos + 5] << 8) | bytes[pos + 6], width: (bytes[pos + 7] << 8) | bytes[pos + 8], components: bytes[pos + 9] };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan or end of image before any frame header
    pos += 2 + len;
  }
  return null;
}

function checkFrame(bytes: Uint8Array): void {
  const frame = jpegFrameHeader(bytes);
  if (frame === null) throw new ImageDecodeError('JPEG without a frame header (SOF marker); the file is truncated or corrupt');
  const { width, height, components } = frame;
  if (components === 4) {
    throw new ImageDecodeError(`this JPEG is CMYK/YCCK (4 components), which the decoder cannot convert; convert it to RGB first (e.g. Pillow: Image.open(f).convert('RGB').save(...))`);
  }
  if (width * height > MAX_PIXELS) {
    throw new ImageDecodeError(`JPEG of ${width}x${height} pixels exceeds the ${MAX_PIXELS}-pixel limit (Pillow's decompression-bomb limit); downscale it first`);
  }
}

/** Decodes JPEG bytes to RGB with Pillow's pixels. Throws ImageDecodeError on corrupt, truncated or CMYK files. */
export async function decodeJpeg(bytes: Uint8Array): Promise<Image8> {
  checkFrame(bytes);
  const c = await (codec ??= loadCodec().catch((e: unknown) => {
    codec = undefined;
    throw new ImageDecodeError(`could not load the JPEG decoder's WebAssembly (${WASM_SPECIFIER}): ${(e as Error).message ?? String(e)}; if a bundler moved it, pass its URL to setJpegWasm`, { cause: e });
  }));
  c.messages.length = 0;
  let out: ReturnType<JpegModule['decode']>;
  try {
    out = c.module.decode(bytes, false);
  } catch (e) {
    codec = undefined; // libjpeg exited without freeing its memory: start a fresh instance next time
    throw new ImageDecodeError(`could not decode the JPEG data: ${c.messages.join('; ') || (e as Error).message}; the file may be corrupt`, { cause: e });
  }
  if (out === null) throw new ImageDecodeError(`could not decode the JPEG data: ${c.messages.join('; ') || 'no image'}`);
  if (c.messages.some((m) => m.startsWith('Premature end of JPEG file'))) {
    throw new ImageDecodeError('the JPEG file is truncated (premature end of data); Pillow refuses it too: re-download or re-export it');
  }
  return imageFromRgba(out);
}
