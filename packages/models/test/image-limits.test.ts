import { describe, expect, it } from 'vitest';
import { deflateSync } from 'node:zlib';
import { DEFAULT_IMAGE_LIMITS, ImageDecodeError, decodeImage, pngRawSize } from '../src/index.ts';
import { craftJpeg, craftPng } from './png-craft.ts';

/** The message of the ImageDecodeError that decoding `bytes` rejects with. */
async function rejection(bytes: Uint8Array, limits?: { maxPixels?: number; maxSide?: number }): Promise<string> {
  const e = await decodeImage(bytes, limits).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ImageDecodeError);
  return (e as Error).message;
}

describe('image size claims are checked before decoding (issue 17, points 1 and 4)', () => {
  it('refuses a 2^31 x 3 PNG claim without a native abort', async () => {
    const png = craftPng({ width: 2 ** 31, height: 3 }, Uint8Array.of(0));
    expect(png.length).toBeLessThan(80);
    expect(await rejection(png)).toMatch(/claims 2147483648 x 3 pixels, over the limit/);
  });

  it('refuses a 16000 x 16000 PNG claim of 69 bytes instead of decoding zeros', async () => {
    const png = craftPng({ width: 16000, height: 16000, depth: 1, colorType: 0 }, Uint8Array.of(0));
    expect(await rejection(png)).toMatch(/16000 x 16000 pixels, over the limit \(32768 per side, 67108864 pixels\)/);
  });

  it('refuses a claim within the limits that the data does not back, with the same message every time', async () => {
    const row = new Uint8Array(1 + 3 * 4); // one filtered row of a 4-pixel-wide RGB image
    const png = craftPng({ width: 4, height: 4 }, row);
    const msgs = await Promise.all([rejection(png), rejection(png), rejection(png)]);
    expect(msgs[0]).toBe("the PNG's image data has 13 of the 52 bytes its header implies; the file is truncated");
    expect(new Set(msgs).size).toBe(1);
    const cut = craftPng({ width: 4, height: 4 }, new Uint8Array(52), deflateSync(new Uint8Array(52)).subarray(0, 6));
    expect(await rejection(cut)).toMatch(/truncated or corrupt/);
  });

  it('refuses more image data than the header implies (a 1x1 claim over a 256 MiB stream)', async () => {
    const png = craftPng({ width: 1, height: 1 }, new Uint8Array(1 << 20));
    expect(await rejection(png)).toMatch(/more image data than its header's size \(4 bytes\)/);
  });

  it('applies caller limits', async () => {
    const raw = new Uint8Array(5 * (1 + 3 * 5));
    const png = craftPng({ width: 5, height: 5 }, raw);
    expect((await decodeImage(png)).width).toBe(5);
    expect(await rejection(png, { maxPixels: 24 })).toMatch(/5 x 5 pixels, over the limit \(32768 per side, 24 pixels\)/);
    expect(await rejection(png, { maxSide: 4 })).toMatch(/over the limit \(4 per side/);
  });

  it('decodes an Adam7-interlaced PNG whose raw size counts every pass', async () => {
    // 3x3 grey: passes 1, 4, 5, 6, 7 hold 1x1, 1x1, 2x1, 1x2, 3x1 pixels.
    const passes: [number, number, number[]][] = [[1, 1, [0]], [1, 1, [2]], [2, 1, [6, 8]], [1, 2, [1, 7]], [3, 1, [3, 4, 5]]];
    const raw: number[] = [];
    for (const [w, h, px] of passes) for (let y = 0; y < h; y++) raw.push(0, ...px.slice(y * w, (y + 1) * w).map((v) => v * 10));
    expect(pngRawSize({ width: 3, height: 3, bitDepth: 8, colorType: 0, interlaced: true })).toBe(raw.length);
    const img = await decodeImage(craftPng({ width: 3, height: 3, colorType: 0, interlace: 1 }, Uint8Array.from(raw)));
    expect(Array.from(img.data).filter((_, i) => i % 3 === 0)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
  });

  it('refuses a 1 KB JPEG claiming 100 MP before any decoder allocates', async () => {
    const before = process.memoryUsage().rss;
    expect(await rejection(craftJpeg(10000, 10000, 1024))).toMatch(/JPEG header claims 10000 x 10000 pixels, over the limit/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('refuses a baseline JPEG claim within the limits that the bytes cannot hold', async () => {
    expect(await rejection(craftJpeg(4000, 4000, 1024))).toBe(
      'the JPEG header claims 4000 x 4000 pixels but the file has only 1024 bytes (at least 62500 needed); the file is truncated or corrupt',
    );
    expect(await rejection(craftJpeg(0, 0, 64).subarray(0, 10))).toMatch(/without a complete frame header/);
    expect(DEFAULT_IMAGE_LIMITS).toEqual({ maxPixels: 67108864, maxSide: 32768 });
  });
});
