/** Hand-built PNG files for decoder tests: any IHDR claim, raw (filtered) scanline bytes, extra chunks. */
import { deflateSync } from 'node:zlib';

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface PngClaim {
  width: number;
  height: number;
  depth?: number;
  colorType?: number;
  interlace?: 0 | 1;
}

/** A PNG whose IHDR says `claim` and whose IDAT is `raw` deflated (or `idat` verbatim). */
export function craftPng(claim: PngClaim, raw: Uint8Array, idat?: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, claim.width);
  dv.setUint32(4, claim.height);
  ihdr.set([claim.depth ?? 8, claim.colorType ?? 2, 0, 0, claim.interlace ?? 0], 8);
  const sig = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat ?? deflateSync(raw)), pngChunk('IEND', new Uint8Array(0))];
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

/** A minimal JPEG prefix (SOI, SOFn claiming width x height with 3 components, SOS header) padded to `bytes`. */
export function craftJpeg(width: number, height: number, bytes: number, sof = 0xc0): Uint8Array {
  const sofSeg = [0xff, sof, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  const sos = [0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0];
  const head = [0xff, 0xd8, ...sofSeg, ...sos];
  const out = new Uint8Array(Math.max(bytes, head.length + 2));
  out.set(head);
  out.set([0xff, 0xd9], out.length - 2);
  return out;
}
