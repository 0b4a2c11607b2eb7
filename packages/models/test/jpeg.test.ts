import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { ImageDecodeError, decodeImage, jpegFrameHeader, setJpegWasm } from '../src/index.ts';
import { diffFromPillow, isSupported } from './jpeg-cases.ts';
import type { JpegCase } from './jpeg-cases.ts';

const dir = new URL('./fixtures/jpeg/', import.meta.url);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));
const cases = Object.entries(JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as Record<string, JpegCase>);

describe('JPEG decoding equals Pillow (Image.open(f).convert("RGB"), libjpeg-turbo)', () => {
  it.each(cases.filter(([, c]) => isSupported(c)))('%s', async (name, c) => {
    const img = await decodeImage(read(`${name}.jpg`));
    expect([img.width, img.height, img.channels]).toEqual([c.width, c.height, 3]);
    expect(diffFromPillow(img, read(`${name}.rgb`))).toEqual({ differing: 0, max: 0 });
  });

  it('covers baseline, progressive, 4:2:0, 4:2:2, 4:4:4, grayscale and an EXIF orientation that is not applied', () => {
    const m = Object.fromEntries(cases);
    expect(m['progressive-420'].progressive && !m['baseline-420'].progressive).toBe(true);
    expect(m.grayscale.mode).toBe('L');
    expect(m['exif-orientation-6'].orientation).toBe(6);
    // Pillow keeps the stored 90x51 orientation; a rotating decoder would give 51x90
    expect([m['exif-orientation-6'].width, m['exif-orientation-6'].height]).toEqual([90, 51]);
  });

  it('refuses CMYK with a typed error that says what to do', async () => {
    await expect(decodeImage(read('cmyk.jpg'))).rejects.toThrow(/CMYK.*convert it to RGB/);
  });

  it('refuses truncated files, as Pillow does, and keeps working after errors', async () => {
    for (const name of ['baseline-420', 'progressive-420']) {
      const full = read(`${name}.jpg`);
      await expect(decodeImage(full.subarray(0, Math.floor(full.length * 0.6)))).rejects.toThrow(/truncated/);
    }
    await expect(decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).rejects.toThrow(ImageDecodeError);
    const garbled = read('baseline-444.jpg').slice();
    garbled.fill(0xff, 600, 640); // a run of 0xFF inside the header segments: libjpeg exits with an error
    await expect(decodeImage(garbled)).rejects.toThrow(ImageDecodeError);
    const img = await decodeImage(read('baseline-420.jpg'));
    expect(diffFromPillow(img, read('baseline-420.rgb')).differing).toBe(0);
  });

  it('loads the decoder from a module or URL given to setJpegWasm, and says what to do when it cannot', async () => {
    const wasm = readFileSync(createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'));
    setJpegWasm('http://127.0.0.1:9/mozjpeg_dec.wasm'); // nothing listens on the discard port
    await expect(decodeImage(read('baseline-420.jpg'))).rejects.toThrow(/could not load the JPEG decoder.*setJpegWasm/);
    setJpegWasm(await WebAssembly.compile(wasm));
    expect(diffFromPillow(await decodeImage(read('baseline-420.jpg')), read('baseline-420.rgb')).differing).toBe(0);
  });

  it('checks the frame size before decoding', async () => {
    expect(jpegFrameHeader(read('baseline-422.jpg'))).toEqual({ width: 90, height: 51, components: 3 });
    expect(jpegFrameHeader(read('grayscale.jpg'))).toEqual({ width: 101, height: 67, components: 1 });
    const huge = read('baseline-420.jpg').slice();
    const sof = huge.findIndex((b, i) => b === 0xff && huge[i + 1] === 0xc0);
    huge.set([0xff, 0xff, 0xff, 0xff], sof + 5); // 65535 x 65535
    await expect(decodeImage(huge)).rejects.toThrow(/claims 65535 x 65535 pixels, over the limit/);
  });
});

describe('the preprocessing golden command on a JPEG', () => {
  it('matches the Pillow/numpy pipeline of make_preprocess_golden.py bit for bit (progressive 4:2:0 input)', async () => {
    const pkg = fileURLToPath(new URL('..', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const golden = fileURLToPath(new URL('preprocess_progressive-420.safetensors.gz', dir));
    const image = fileURLToPath(new URL('progressive-420.jpg', dir));
    const { stdout } = await promisify(execFile)(tsx, ['--conditions=@segllm/source', 'scripts/golden.ts', 'preprocess', golden, image], { cwd: pkg });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const compared = lines.filter((l) => 'pass' in l);
    expect(compared.map((l) => l.name)).toEqual([
      'clip224.pixel_values', 'llava_pad336.pixel_values', 'hipie.input_size_hw', 'mask.resized_padded', 'maskenc.pixel_values', 'boxenc.input_yxyx_over_1024',
    ]);
    for (const l of compared) expect([l.name, l.differing]).toEqual([l.name, 0]);
    expect(lines.at(-1)).toMatchObject({ summary: 'preprocess', failed: 0, ok: true });
  });
});
