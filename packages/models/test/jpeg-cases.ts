/**
 * The JPEG fixtures (test/fixtures/jpeg, made by make_jpeg_fixtures.py with Pillow 9.4 / libjpeg-turbo 2.1) and the
 * comparison with Pillow's decoding, shared by the Node test and the Chromium test.
 */
import type { Image8 } from '../src/index.ts';

export interface JpegCase {
  width: number;
  height: number;
  mode: string;
  progressive: boolean;
  orientation: number | null;
  covers: string;
}

/** Number of RGB values that differ from Pillow's, and the largest difference. */
export function diffFromPillow(img: Image8, pillowRgb: Uint8Array): { differing: number; max: number } {
  let differing = 0;
  let max = 0;
  for (let i = 0; i < pillowRgb.length; i++) {
    const d = Math.abs(img.data[i] - pillowRgb[i]);
    if (d > 0) differing++;
    max = Math.max(max, d);
  }
  return { differing, max };
}

/** Cases whose Pillow decoding we reproduce; the CMYK fixture is refused with ImageDecodeError instead. */
export const isSupported = (c: JpegCase): boolean => c.mode !== 'CMYK';
