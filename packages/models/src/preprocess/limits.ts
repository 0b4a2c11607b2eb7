/**
 * Size claims of image headers, checked before any decoder allocates: the PNG IHDR and the JPEG SOF give width and
 * height; both must fit `ImageLimits` (default 8192 x 8192 pixels, 32768 per side) and be plausible for the bytes
 * present. Decoder-independent, so whichever decoder runs afterwards gets only headers that passed.
 */
import { ImageDecodeError } from './errors.ts';

export interface ImageLimits {
  /** Largest width * height accepted (default 2^26 = 67,108,864, e.g. 8192 x 8192). */
  maxPixels?: number;
  /** Largest width or height accepted (default 32768). */
  maxSide?: number;
}

export const DEFAULT_IMAGE_LIMITS: Required<ImageLimits> = { maxPixels: 2 ** 26, maxSide: 32768 };

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

export interface JpegHeader {
  width: number;
  height: number;
  /** SOF marker (0xc0 baseline, 0xc2 progressive, ...). */
  sof: number;
  components: number;
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Width and height against the limits; throws ImageDecodeError saying how to raise them. */
export function checkImageSize(format: string, width: number, height: number, limits: ImageLimits = {}): void {
  const { maxPixels, maxSide } = { ...DEFAULT_IMAGE_LIMITS, ...limits };
  if (width === 0 || height === 0) throw new ImageDecodeError(`the ${format} header claims an empty image (${width} x ${height}); the file is corrupt`);
  if (width > maxSide || height > maxSide || width * height > maxPixels) {
    throw new ImageDecodeError(
      `the ${format} header claims ${width} x ${height} pixels, over the limit (${maxSide} per side, ${maxPixels} pixels): ` +
        'resize the image first, or pass larger limits ({ maxPixels, maxSide }) if it is genuine',
    );
  }
}

/** The IHDR of a PNG (signature already sniffed). */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new ImageDecodeError('PNG without an IHDR chunk; the file is corrupt');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h: PngHeader = { width: dv.getUint32(16), height: dv.getUint32(20), bitDepth: bytes[24], colorType: bytes[25], interlaced: bytes[28] === 1 };
  if (!(h.colorType in PNG_CHANNELS) || ![1, 2, 4, 8, 16].includes(h.bitDepth) || bytes[28] > 1) {
    throw new ImageDecodeError(`PNG IHDR with colour type ${h.colorType}, bit depth ${h.bitDepth}, interlace ${bytes[28]} is invalid; the file is corrupt`);
  }
  return h;
}

/** Bytes of filtered scanlines (filter byte + packed samples per row, for each Adam7 pass when interlaced). */
export function pngRawSize(h: PngHeader): number {
  const bitsPerPixel = PNG_CHANNELS[h.colorType] * h.bitDepth;
  const rows = (w: number, hh: number) => (w === 0 || hh === 0 ? 0 : hh * (1 + Math.ceil((w * bitsPerPixel) / 8)));
  if (!h.interlaced) return rows(h.width, h.height);
  // Adam7 passes: [x0, y0, dx, dy].
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let n = 0;
  for (const [x0, y0, dx, dy] of passes) n += rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy));
  return n;
}

const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** The frame header (SOFn) of a JPEG, found by walking the marker segments before the first scan. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw new ImageDecodeError(`JPEG marker expected at byte ${pos}; the file is corrupt`);
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    const len = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (len < 2 || pos + 2 + len > bytes.length) break;
    if (SOF.has(marker)) {
      if (len < 8) break;
      const height = (bytes[pos + 5] << 8) | bytes[pos + 6];
      const width = (bytes[pos + 7] << 8) | bytes[pos + 8];
      return { width, height, sof: marker, components: bytes[pos + 9] };
    }
    if (marker === 0xda || marker === 0xd9) break;
    pos += 2 + len;
  }
  throw new ImageDecodeError('JPEG without a complete frame header (SOF) before its image data; the file is truncated or corrupt');
}

/**
 * Checks a JPEG's claimed size before decoding: the limits, and for sequential (baseline/extended Huffman) files the
 * data present, since every 8x8 block costs at least 2 bits (a DC code and an end-of-block code).
 */
export function checkJpegHeader(bytes: Uint8Array, limits: ImageLimits = {}): JpegHeader {
  const h = readJpegHeader(bytes);
  if (h.height === 0) throw new ImageDecodeError('JPEG with its height in a DNL marker (height 0 in the frame header) is not supported; re-encode the image');
  checkImageSize('JPEG', h.width, h.height, limits);
  const blocks = Math.ceil(h.width / 8) * Math.ceil(h.height / 8);
  if ((h.sof === 0xc0 || h.sof === 0xc1) && bytes.length < blocks / 4) {
    throw new ImageDecodeError(`the JPEG header claims ${h.width} x ${h.height} pixels but the file has only ${bytes.length} bytes (at least ${Math.ceil(blocks / 4)} needed); the file is truncated or corrupt`);
  }
  return h;
}

/** Checks a PNG's IHDR against the limits; returns it with the size of its filtered scanlines. */
export function checkPngHeader(bytes: Uint8Array, limits: ImageLimits = {}): PngHeader & { rawSize: number } {
  const h = readPngHeader(bytes);
  checkImageSize('PNG', h.width, h.height, limits);
  return { ...h, rawSize: pngRawSize(h) };
}
