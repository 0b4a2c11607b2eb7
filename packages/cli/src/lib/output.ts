/** What the commands write and print: mask and overlay PNGs (temporary file + rename), round summaries. */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Image8 } from '@segllm/models';
import type { RoundResult } from '@segllm/core';
import { encodePng } from '@segllm/mrseg';

/** Writes through `<path>.tmp-<pid>` and renames into place, so readers never see a half-written file. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** A 0/1 mask [h, w] as an 8-bit gray PNG (0 / 255). */
export function maskPng(mask: Uint8Array, width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = mask[i] ? 255 : 0;
  return encodePng({ width, height, channels: 1, data });
}

/** The image as RGB with the mask tinted (half-way to `tint`) and the box outlined in `tint`. */
export function overlayRgb(img: Image8, mask: Uint8Array, box: readonly number[], tint: readonly [number, number, number] = [255, 40, 40]): Uint8Array {
  const { width: w, height: h, channels: c } = img;
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    for (let k = 0; k < 3; k++) {
      const v = img.data[i * c + (c >= 3 ? k : 0)];
      out[i * 3 + k] = mask[i] ? (v + tint[k]) >> 1 : v;
    }
  }
  const [x0, y0, x1, y1] = box.map((v) => Math.round(v));
  if (x1 > x0 && y1 > y0) {
    const put = (x: number, y: number): void => {
      if (x < 0 || y < 0 || x >= w || y >= h) return;
      out.set(tint, (y * w + x) * 3);
    };
    for (let x = x0; x < x1; x++) {
      put(x, y0);
      put(x, y1 - 1);
    }
    for (let y = y0; y < y1; y++) {
      put(x0, y);
      put(x1 - 1, y);
    }
  }
  return out;
}

export function overlayPng(img: Image8, r: RoundResult): Uint8Array {
  return encodePng({ width: img.width, height: img.height, channels: 3, data: overlayRgb(img, r.mask, r.box) });
}

export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** One line per round: box, score, mask area (pixels and share of the image), reference and time. */
export function roundLine(r: RoundResult, ms: number): string {
  const area = maskArea(r.mask);
  const box = r.box.map((v) => v.toFixed(1)).join(', ');
  const ref = r.referencedRounds.length ? ` ref [${r.referencedRounds.join(', ')}]` : '';
  return `round ${r.round}: box [${box}] score ${r.score.toFixed(4)} area ${area} px (${((100 * area) / (r.width * r.height)).toFixed(2)}%)${ref} in ${ms.toFixed(0)} ms`;
}
