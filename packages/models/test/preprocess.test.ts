import { readFileSync } from 'node:fs';
import { deflateSync, gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HIPIE_MEAN,
  HIPIE_STD,
  ImageDecodeError,
  LLAVA_PAD_COLOR,
  PreprocessError,
  boxEncodeVector,
  clipPreprocess,
  decodeImage,
  expandToSquare,
  hipiePreprocess,
  imageFromRgba,
  imageToTensor,
  intBox,
  llavaPadPreprocess,
  longestSideSize,
  maskEncodeCrop,
  resizeMask,
  resizePillow,
  shortestEdgeSize,
} from '../src/preprocess/index.ts';
import type { Image8 } from '../src/preprocess/index.ts';
import { readMiniSafetensors } from './mini-safetensors.ts';
import type { MiniTensor } from './mini-safetensors.ts';

const dir = new URL('./fixtures/preprocess/', import.meta.url);
const pngBytes = readFileSync(new URL('000000039769.png', dir));
let golden: Map<string, MiniTensor>;
let img: Image8;

beforeAll(async () => {
  golden = readMiniSafetensors(gunzipSync(readFileSync(new URL('preprocess_000000039769.safetensors.gz', dir)))).tensors;
  img = await decodeImage(pngBytes);
});

function g<T>(name: string): T {
  const t = golden.get(name);
  if (t === undefined) throw new Error(`golden tensor ${name} missing`);
  return t.data as T;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; count: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) count++;
    if (d > max) max = d;
  }
  return { max, count };
}

describe('SegLLM preprocessing vs Pillow/HF goldens (COCO 39769)', () => {
  it('decodes the PNG', () => {
    expect([img.width, img.height, img.channels]).toEqual([640, 480, 3]);
  });

  it('CLIP-224: shortest edge 224 bicubic, centre crop, CLIP mean/std', () => {
    const out = clipPreprocess(img, { size: 224 });
    expect(out.shape).toEqual([3, 224, 224]);
    expect(maxAbsDiff(out.data, g<Float32Array>('clip224.pixel_values')).max).toBeLessThanOrEqual(1e-5);
  });

  it('LLaVA pad-to-square + CLIP-336', () => {
    expect(LLAVA_PAD_COLOR).toEqual([122, 116, 104]);
    const out = llavaPadPreprocess(img, 336);
    expect(out.shape).toEqual([3, 336, 336]);
    expect(maxAbsDiff(out.data, g<Float32Array>('llava_pad336.pixel_values')).max).toBeLessThanOrEqual(1e-5);
  });

  it('HIPIE: longest side 1024 bilinear on uint8 (within 1 grey level), pad, normalise', () => {
    const h = hipiePreprocess(img);
    const ref = g<Uint8Array>('hipie.resized_uint8');
    expect(h.inputSizeHw).toEqual(Array.from(g<BigInt64Array>('hipie.input_size_hw'), Number));
    expect(imageToTensor(h.resized).shape).toEqual(golden.get('hipie.resized_uint8')!.shape);
    const d = maxAbsDiff(h.resized.data, ref);
    expect(d.max).toBeLessThanOrEqual(1);
    expect(d.count).toBe(0); // observed: bit-exact with Pillow
    // normalised = (zero-padded golden uint8 - mean) / std, NCHW
    const [H, W] = h.inputSizeHw;
    expect(h.normalized.shape).toEqual([3, 1024, 1024]);
    let worst = 0;
    for (let c = 0; c < 3; c++) {
      for (const [y, x] of [[0, 0], [H - 1, W - 1], [H, 0], [1023, 1023], [H >> 1, W >> 1]]) {
        const v = y < H && x < W ? ref[(y * W + x) * 3 + c] : 0;
        const expected = Math.fround((v - HIPIE_MEAN[c]) / HIPIE_STD[c]);
        worst = Math.max(worst, Math.abs(h.normalized.data[c * 1024 * 1024 + y * 1024 + x] - expected));
      }
    }
    expect(worst).toBe(0);
    expect(h.normalized.data[2 * 1024 * 1024 + 1023 * 1024 + 1023]).toBeCloseTo(-103.53 / 57.375, 6);
  });

  it('mask resize (bilinear on the 0/1 L image) and zero padding', () => {
    const mo = golden.get('mask.original')!;
    const m = resizeMask({ data: mo.data as Uint8Array, width: mo.shape[1], height: mo.shape[0], channels: 1 });
    expect(m.shape).toEqual([1024, 1024]);
    expect(maxAbsDiff(m.data, g<Uint8Array>('mask.resized_padded')).count).toBe(0);
  });

  it('mask-encode crop and box-encode vector', () => {
    const h = hipiePreprocess(img);
    const mask = { data: g<Uint8Array>('mask.resized_padded'), shape: [1024, 1024] };
    const box = Array.from(g<Float32Array>('maskenc.pred_box_xyxy'));
    const me = maskEncodeCrop(h.padded, mask, box);
    expect(me.pixelValues.shape).toEqual([3, 224, 224]);
    expect(maxAbsDiff(me.pixelValues.data, g<Float32Array>('maskenc.pixel_values')).max).toBeLessThanOrEqual(1e-5);
    expect(Array.from(boxEncodeVector(me.box))).toEqual(Array.from(g<Float32Array>('boxenc.input_yxyx_over_1024')));
  });
});

describe('Pillow resampling (hand-derived values)', () => {
  const row = (values: number[]): Image8 => ({ data: Uint8Array.from(values), width: values.length, height: 1, channels: 1 });
  it('bilinear upscale 2 -> 4', () => {
    expect(Array.from(resizePillow(row([0, 255]), 4, 1, 'bilinear').data)).toEqual([0, 64, 191, 255]);
  });
  it('bilinear downscale 4 -> 2 widens the support (antialiasing)', () => {
    expect(Array.from(resizePillow(row([0, 0, 255, 255]), 2, 1, 'bilinear').data)).toEqual([36, 219]);
  });
  it('bicubic keeps a constant image constant and clips overshoot to 0..255', () => {
    const flat = { data: new Uint8Array(7 * 5 * 3).fill(200), width: 7, height: 5, channels: 3 };
    expect(resizePillow(flat, 3, 11, 'bicubic').data.every((v) => v === 200)).toBe(true);
    const step = resizePillow(row([0, 0, 0, 255, 255, 255]), 17, 1, 'bicubic').data;
    expect(Math.min(...step)).toBe(0);
    expect(Math.max(...step)).toBe(255);
  });
  it('same size is a copy', () => {
    const r = row([1, 2, 3]);
    const out = resizePillow(r, 3, 1, 'bicubic');
    expect(Array.from(out.data)).toEqual([1, 2, 3]);
    expect(out.data).not.toBe(r.data);
  });
});

describe('geometry helpers', () => {
  it('computes HF/SAM output sizes', () => {
    expect(shortestEdgeSize(640, 480, 224)).toEqual({ width: 298, height: 224 });
    expect(shortestEdgeSize(300, 1000, 224)).toEqual({ width: 224, height: 746 });
    expect(longestSideSize(640, 480)).toEqual({ width: 1024, height: 768 });
    expect(longestSideSize(333, 500)).toEqual({ width: 682, height: 1024 });
  });
  it('casts boxes like the SegLLM CLI', () => {
    expect(intBox([-3.7, 10.9, 100.2, 11.5])).toEqual([0, 10, 100, 12]);
    expect(intBox([1023.5, 5, 1100, 8])).toEqual([1023, 5, 1024, 8]);
    expect(Array.from(boxEncodeVector([10, 20, 30, 40]))).toEqual([20 / 1024, 10 / 1024, 40 / 1024, 30 / 1024].map(Math.fround));
    expect(() => intBox([0, 0, 1])).toThrow(PreprocessError);
  });
  it('pads to square centred with the LLaVA background', () => {
    const tall = { data: new Uint8Array(2 * 4 * 3).fill(9), width: 2, height: 4, channels: 3 };
    const sq = expandToSquare(tall);
    expect([sq.width, sq.height]).toEqual([4, 4]);
    expect(Array.from(sq.data.subarray(0, 3))).toEqual([122, 116, 104]);
    expect(Array.from(sq.data.subarray(3, 6))).toEqual([9, 9, 9]);
    expect(Array.from(sq.data.subarray(9, 12))).toEqual([122, 116, 104]);
  });
});

describe('decoding and errors', () => {
  it('drops alpha from browser RGBA pixels', () => {
    const px = { data: Uint8ClampedArray.from([1, 2, 3, 0, 4, 5, 6, 255]), width: 2, height: 1 };
    expect(Array.from(imageFromRgba(px).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => imageFromRgba({ ...px, width: 3 })).toThrow(PreprocessError);
  });
  it('throws ImageDecodeError on unreadable input', async () => {
    await expect(decodeImage(new TextEncoder().encode('not an image'))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(pngBytes.subarray(0, 5000))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).rejects.toThrow(ImageDecodeError);
  });
  it('rejects bad preprocessing arguments', () => {
    const rgb = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 };
    expect(() => clipPreprocess(rgb, { size: 0 })).toThrow(PreprocessError);
    expect(() => clipPreprocess({ ...rgb, channels: 1, data: new Uint8Array(4) }, { size: 4 })).toThrow(PreprocessError);
    expect(() => resizePillow({ ...rgb, data: new Uint8Array(5) }, 4, 4, 'bilinear')).toThrow(PreprocessError);
    expect(() => resizeMask(rgb)).toThrow(PreprocessError);
    const pad = { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8, channels: 3 };
    expect(() => maskEncodeCrop(pad, { data: new Uint8Array(16), shape: [4, 4] }, [0, 0, 4, 4])).toThrow(PreprocessError);
  });
});

describe('PNG decoding follows Pillow convert("RGB")', () => {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b: Uint8Array): number => {
    let c = 0xffffffff;
    for (const v of b) c = crcTable[(c ^ v) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const body = new Uint8Array(4 + data.length);
    body.set(new TextEncoder().encode(type));
    body.set(data, 4);
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    out.set(body, 4);
    dv.setUint32(8 + data.length, crc32(body));
    return out;
  };
  /** A one-row PNG with filter type 0; `samples` are big-endian sample values of `depth` bits (8 or 16). */
  const makePng = (width: number, colorType: number, depth: number, samples: number[], extra: Uint8Array[] = []): Uint8Array => {
    const ihdr = new Uint8Array(13);
    const dv = new DataView(ihdr.buffer);
    dv.setUint32(0, width);
    dv.setUint32(4, 1);
    ihdr.set([depth, colorType, 0, 0, 0], 8);
    const raw = new Uint8Array(1 + samples.length * (depth / 8));
    samples.forEach((v, i) => (depth === 16 ? new DataView(raw.buffer).setUint16(1 + 2 * i, v) : (raw[1 + i] = v)));
    const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
    return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
  };
  it('keeps the high byte of 16-bit RGB and clips 16-bit grey', async () => {
    expect(Array.from((await decodeImage(makePng(2, 2, 16, [0x1234, 0xff00, 0x00ff, 300, 65535, 0]))).data)).toEqual([0x12, 0xff, 0x00, 1, 255, 0]);
    expect(Array.from((await decodeImage(makePng(3, 0, 16, [7, 255, 4000]))).data)).toEqual([7, 7, 7, 255, 255, 255, 255, 255, 255]);
  });
  it('ignores a tRNS colour key and maps palettes', async () => {
    const trns = chunk('tRNS', Uint8Array.from([0, 10, 0, 20, 0, 30]));
    expect(Array.from((await decodeImage(makePng(2, 2, 8, [10, 20, 30, 1, 2, 3], [trns]))).data)).toEqual([10, 20, 30, 1, 2, 3]);
    const plte = chunk('PLTE', Uint8Array.from([9, 8, 7, 200, 100, 50]));
    expect(Array.from((await decodeImage(makePng(2, 3, 8, [1, 0], [plte]))).data)).toEqual([200, 100, 50, 9, 8, 7]);
  });
});
