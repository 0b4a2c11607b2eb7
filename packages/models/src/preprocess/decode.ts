/**
 * Image decoding to 8-bit RGB: PNG bytes in Node (pngjs, loaded on first use so that browser bundles need not
 * include it), JPEG bytes everywhere with libjpeg-turbo in WebAssembly (jpeg.ts), and other browser image sources
 * through `createImageBitmap` + an OffscreenCanvas. Alpha is dropped without compositing, as Pillow's `convert('RGB')`.
 */
import { ImageDecodeError } from './errors.ts';
import { imageFromRgba } from './image.ts';
import { decodeJpeg } from './jpeg.ts';
import type { Image8 } from './image.ts';
import { checkJpegHeader, checkPngHeader } from './limits.ts';
import type { ImageLimits } from './limits.ts';
import { pngCodec } from '#platform';
import { nodeFs } from '@segllm/tensor/platform';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type ImageFormat = 'png' | 'jpeg';

/** The format named by the file's magic bytes, or null. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Byte offsets of the PNG chunks: [start, end) of each whole chunk, with its type. */
function pngChunks(bytes: Uint8Array): { type: string; start: number; end: number }[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: string; start: number; end: number }[] = [];
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 12 + len;
    if (end > bytes.length) break;
    out.push({ type, start: pos, end });
    pos = end;
    if (type === 'IEND') break;
  }
  return out;
}

/**
 * Inflates the IDAT stream with its output bounded by the size the IHDR implies and checks that it is all there
 * (pngjs would otherwise read past a short stream into uninitialised memory, or inflate without bound).
 */
function checkPngData(idat: Uint8Array[], rawSize: number, { inflateSync, Buffer }: NonNullable<Awaited<ReturnType<typeof pngCodec>>>): void {
  let n: number;
  try {
    n = inflateSync(Buffer.concat(idat), { maxOutputLength: rawSize }).length;
  } catch (e) {
    const more = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new ImageDecodeError(more ? `the PNG holds more image data than its header's size (${rawSize} bytes); the file is corrupt` : `the PNG's image data is truncated or corrupt (${(e as Error).message})`);
  }
  if (n !== rawSize) throw new ImageDecodeError(`the PNG's image data has ${n} of the ${rawSize} bytes its header implies; the file is truncated`);
}

/**
 * PNG -> RGB with Pillow's `Image.open(...).convert('RGB')` semantics: a tRNS colour key is ignored (pngjs would
 * zero those pixels), 16-bit RGB(A)/LA keep the high byte, 16-bit grey is clipped to 255 (Pillow's I;16 -> L).
 */
async function decodePng(bytes: Uint8Array, limits?: ImageLimits): Promise<Image8> {
  const { bitDepth: depth, colorType, rawSize } = checkPngHeader(bytes, limits);
  const codec = await pngCodec();
  // In a browser build there is no pngjs: the browser decodes the file.
  if (codec === null) return decodeImageSource(new Blob([bytes.slice()], { type: 'image/png' }));
  const { PNG, Buffer } = codec;
  const chunks = pngChunks(bytes);
  checkPngData(chunks.filter((c) => c.type === 'IDAT').map((c) => bytes.subarray(c.start + 8, c.end - 4)), rawSize, codec);
  const parts = [bytes.subarray(0, 8), ...chunks.filter((c) => c.type !== 'tRNS').map((c) => bytes.subarray(c.start, c.end))];
  const png = PNG.sync.read(Buffer.concat(parts), { skipRescale: depth === 16 });
  const n = png.width * png.height;
  if (depth !== 16) return imageFromRgba({ data: png.data, width: png.width, height: png.height });
  const src = png.data as unknown as ArrayLike<number>; // Uint16Array RGBA when skipRescale is set
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n * 4; i++) rgba[i] = colorType === 0 ? Math.min(src[i], 255) : src[i] >> 8;
  return imageFromRgba({ data: rgba, width: png.width, height: png.height });
}

/**
 * Decodes PNG (Node) or JPEG (Node and browsers) bytes to RGB with Pillow's pixels: PNG decoding is lossless, and
 * JPEG runs libjpeg-turbo as Pillow does (jpeg.ts). The header's size is checked against `limits`
 * (DEFAULT_IMAGE_LIMITS) and the data present before anything is allocated.
 */
export async function decodeImage(bytes: Uint8Array, limits?: ImageLimits): Promise<Image8> {
  const format = sniffImageFormat(bytes);
  if (format === null) {
    throw new ImageDecodeError(`unrecognised image data (${bytes.length} bytes): only PNG and JPEG files can be decoded; convert the image first`);
  }
  try {
    if (format === 'png') return await decodePng(bytes, limits);
    checkJpegHeader(bytes, limits);
    return await decodeJpeg(bytes);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(`could not decode the ${format.toUpperCase()} data: ${(e as Error).message ?? String(e)}; the file may be truncated or corrupt`, { cause: e });
  }
}

/** Reads and decodes an image file (Node). */
export async function readImageFile(path: string, limits?: ImageLimits): Promise<Image8> {
  const { readFile } = await nodeFs(`reading the image file ${path}`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageDecodeError(`cannot read image file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return decodeImage(bytes, limits);
}

/**
 * RGB pixels of a browser image source (Blob/File, ImageBitmap, HTMLImageElement, canvas, VideoFrame...). A JPEG
 * Blob is decoded from its bytes as in Node (Pillow's pixels; `createImageBitmap` would use the browser's decoder and
 * apply EXIF rotation); anything else goes through `createImageBitmap`.
 */
export async function decodeImageSource(source: ImageBitmapSource): Promise<Image8> {
  if (typeof Blob === 'function' && source instanceof Blob) {
    const head = new Uint8Array(await source.slice(0, 3).arrayBuffer());
    if (sniffImageFormat(head) === 'jpeg') return decodeImage(new Uint8Array(await source.arrayBuffer()));
  }
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw new ImageDecodeError('decodeImageSource needs createImageBitmap and OffscreenCanvas (a browser or worker); in Node use decodeImage(bytes)');
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(source, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    throw new ImageDecodeError(`the browser could not decode this image source: ${(e as Error).message}`, { cause: e });
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new ImageDecodeError('could not get a 2D context from OffscreenCanvas');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return imageFromRgba(ctx.getImageData(0, 0, canvas.width, canvas.height));
}
