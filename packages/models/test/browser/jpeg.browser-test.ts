/**
 * JPEG decoding in a real browser (headless Chromium): the same WebAssembly libjpeg-turbo as in Node, loaded next to
 * its glue code, gives Pillow's pixels for every fixture, from bytes and from a Blob (not createImageBitmap, which
 * would use Chromium's decoder and apply the EXIF rotation).
 */
import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { ImageDecodeError, decodeImage, decodeImageSource } from '../../src/index.ts';
import { diffFromPillow, isSupported } from '../jpeg-cases.ts';
import type { JpegCase } from '../jpeg-cases.ts';

/** A fixture's bytes, read by the test runner (paths are relative to the package folder, the config's root). */
async function read(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const b64 = await commands.readFile(`test/fixtures/jpeg/${name}`, 'base64');
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}
const cases = Object.entries(JSON.parse(new TextDecoder().decode(await read('manifest.json'))) as Record<string, JpegCase>);

describe('JPEG decoding in Chromium equals Pillow', () => {
  it('has the fixtures', () => {
    expect(cases.length).toBe(8);
  });

  it.each(cases.filter(([, c]) => isSupported(c)))('%s: bytes and Blob', async (name, c) => {
    const [jpg, want] = await Promise.all([read(`${name}.jpg`), read(`${name}.rgb`)]);
    for (const img of [await decodeImage(jpg), await decodeImageSource(new Blob([jpg], { type: 'image/jpeg' }))]) {
      expect([img.width, img.height, img.channels]).toEqual([c.width, c.height, 3]);
      expect(diffFromPillow(img, want)).toEqual({ differing: 0, max: 0 });
    }
  });

  it('refuses CMYK and truncated files with ImageDecodeError', async () => {
    await expect(decodeImage(await read('cmyk.jpg'))).rejects.toThrow(ImageDecodeError);
    const full = await read('baseline-420.jpg');
    await expect(decodeImage(full.subarray(0, Math.floor(full.length * 0.6)))).rejects.toThrow(/truncated/);
  });
});
