/**
 * A small PNG codec on node:zlib, enough for annotation maps: decodes non-interlaced PNGs of every colour type and
 * bit depth (gray, RGB, palette, gray+alpha, RGBA; 1-16 bits) to raw samples, and encodes 8-bit gray / RGB / RGBA.
 * Chunk CRCs are verified. Palette images decode to their indices (class-index maps are often palette PNGs).
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { PngFormatError } from './errors.ts';

export interface DecodedPng {
  width: number;
  height: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  bitDepth: number;
  /** Samples per pixel in `data` (palette: 1, the index). */
  channels: number;
  /** Row-major samples (y * width + x) * channels + c: Uint8Array for depth <= 8, Uint16Array for 16. */
  data: Uint8Array | Uint16Array;
  /** RGB triples of the PLTE chunk, if any. */
  palette?: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Largest width * height decodePng accepts by default (2^26, e.g. 8192 x 8192). */
export const PNG_MAX_PIXELS = 2 ** 26;

/** Decodes a PNG; its claimed size is checked against `maxPixels` and the inflated data bounded by that size. */
export function decodePng(bytes: Uint8Array, { maxPixels = PNG_MAX_PIXELS }: { maxPixels?: number } = {}): DecodedPng {
  if (!isPng(bytes)) throw new PngFormatError('not a PNG (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let bitDepth = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new PngFormatError('truncated chunk header');
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    const dataStart = pos + 8;
    const dataEnd = dataStart + len;
    if (dataEnd + 4 > bytes.length) throw new PngFormatError(`truncated ${type} chunk`);
    if (crc32(bytes, pos + 4, dataEnd) !== dv.getUint32(dataEnd)) throw new PngFormatError(`CRC mismatch in ${type} chunk`);
    const chunk = bytes.subarray(dataStart, dataEnd);
    if (type === 'IHDR') {
      if (len !== 13) throw new PngFormatError('bad IHDR length');
      width = dv.getUint32(dataStart);
      height = dv.getUint32(dataStart + 4);
      bitDepth = chunk[8];
      colorType = chunk[9];
      if (chunk[10] !== 0 || chunk[11] !== 0) throw new PngFormatError('unknown compression or filter method');
      if (chunk[12] !== 0) throw new PngFormatError('interlaced (Adam7) PNGs are not supported');
      if (!(colorType in CHANNELS) || !DEPTHS[colorType].includes(bitDepth)) {
        throw new PngFormatError(`unsupported colour type ${colorType} with bit depth ${bitDepth}`);
      }
      if (width === 0 || height === 0) throw new PngFormatError('empty image');
      if (width * height > maxPixels) throw new PngFormatError(`${width} x ${height} pixels is over the limit of ${maxPixels}: pass { maxPixels } if the image is genuine`);
    } else if (type === 'PLTE') palette = chunk.slice();
    else if (type === 'IDAT') idat.push(chunk);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos = dataEnd + 4;
  }
  if (colorType < 0) throw new PngFormatError('missing IHDR');
  if (!ended) throw new PngFormatError('missing IEND');
  if (idat.length === 0) throw new PngFormatError('missing IDAT');
  if (colorType === 3 && !palette) throw new PngFormatError('palette image without PLTE');
  const channels = CHANNELS[colorType];
  const bitsPerPixel = channels * bitDepth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: height * (stride + 1) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new PngFormatError(`more image data than a ${width} x ${height} image holds`);
    throw new PngFormatError(`corrupt image data: ${(e as Error).message}`);
  }
  if (raw.length < height * (stride + 1)) throw new PngFormatError('image data too short');
  const lines = new Uint8Array(height * stride);
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = lines.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? lines.subarray((y - 1) * stride, y * stride) : zero;
    unfilter(filter, src, cur, prev, bpp);
  }
  const n = width * height * channels;
  let data: Uint8Array | Uint16Array;
  if (bitDepth === 8) data = lines.length === n ? lines : packRows(lines, width, height, stride, channels);
  else if (bitDepth === 16) {
    data = new Uint16Array(n);
    for (let y = 0; y < height; y++) {
      for (let i = 0; i < width * channels; i++) {
        const o = y * stride + 2 * i;
        data[y * width * channels + i] = (lines[o] << 8) | lines[o + 1];
      }
    }
  } else {
    data = new Uint8Array(n);
    const mask = (1 << bitDepth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * bitDepth;
        const byte = lines[y * stride + (bit >> 3)];
        data[y * width + x] = (byte >> (8 - bitDepth - (bit & 7))) & mask;
      }
    }
  }
  return { width, height, colorType, bitDepth, channels, data, ...(palette ? { palette } : {}) };
}

function packRows(lines: Uint8Array, width: number, height: number, stride: number, channels: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) out.set(lines.subarray(y * stride, y * stride + width * channels), y * width * channels);
  return out;
}

function unfilter(filter: number, src: Uint8Array, cur: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = src.length;
  switch (filter) {
    case 0:
      cur.set(src);
      break;
    case 1:
      for (let i = 0; i < n; i++) cur[i] = src[i] + (i >= bpp ? cur[i - bpp] : 0);
      break;
    case 2:
      for (let i = 0; i < n; i++) cur[i] = src[i] + prev[i];
      break;
    case 3:
      for (let i = 0; i < n; i++) cur[i] = src[i] + (((i >= bpp ? cur[i - bpp] : 0) + prev[i]) >> 1);
      break;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? cur[i - bpp] : 0;
        const b = prev[i];
        const c = i >= bpp ? prev[i - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        cur[i] = src[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      break;
    default:
      throw new PngFormatError(`unknown scanline filter ${filter}`);
  }
}

/** Encodes 8-bit gray (1), gray+alpha (2), RGB (3) or RGBA (4) samples, row-major, as a PNG. */
export function encodePng(img: { width: number; height: number; channels: 1 | 2 | 3 | 4; data: Uint8Array }): Uint8Array {
  const { width, height, channels, data } = img;
  if (data.length !== width * height * channels) {
    throw new PngFormatError(`expected ${width * height * channels} samples, got ${data.length}`);
  }
  const colorType = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels];
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    // Filter 1 (Sub) compresses flat annotation maps and synthetic images well.
    const o = y * (stride + 1);
    raw[o] = 1;
    const row = data.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = row[i] - (i >= channels ? row[i - channels] : 0);
  }
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(8 + chunks.reduce((s, c) => s + c.length, 0));
  out.set(SIGNATURE, 0);
  let p = 8;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}
