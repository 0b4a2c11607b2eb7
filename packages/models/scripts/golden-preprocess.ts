/**
 * `golden preprocess <preprocess.safetensors[.gz]> <image.png|jpg>`: recomputes every tensor of a
 * make_segllm_io_goldens.py file that has a TypeScript counterpart and prints one JSON line per tensor.
 * Sizes (CLIP 224/336, HIPIE 1024) are read from the golden shapes, so other images and configs work.
 */
import {
  boxEncodeVector,
  clipPreprocess,
  hipiePreprocess,
  llavaPadPreprocess,
  maskEncodeCrop,
  readImageFile,
  resizeMask,
} from '../src/index.ts';
import type { HipieInput, Image8, PlainTensor } from '../src/index.ts';
import { readMiniSafetensors } from '../test/mini-safetensors.ts';
import type { MiniTensor } from '../test/mini-safetensors.ts';
import { emit, errStats, readMaybeGzip, runCase } from './golden-io.ts';

const FLOAT_TOL = 1e-5;
const UINT8_TOL = 1;

export async function runPreprocessGolden(args: string[]): Promise<boolean> {
  if (args.length !== 2) throw new Error('usage: golden preprocess <preprocess.safetensors[.gz]> <image file>');
  const [goldenPath, imagePath] = args;
  const { tensors, metadata } = readMiniSafetensors(readMaybeGzip(goldenPath));
  const img = await readImageFile(imagePath);
  if (metadata.size_wh !== undefined && metadata.size_wh !== `${img.width}x${img.height}`) {
    throw new Error(`the goldens were made on a ${metadata.size_wh} image (${metadata.image ?? '?'}), but ${imagePath} is ${img.width}x${img.height}`);
  }
  const side = (t: MiniTensor): number => t.shape[t.shape.length - 1];
  let hipieSize = 1024;
  const mp = tensors.get('mask.resized_padded') ?? tensors.get('hipie.normalized');
  if (mp !== undefined) hipieSize = side(mp);
  let hipie: HipieInput | undefined;
  const getHipie = (): HipieInput => (hipie ??= hipiePreprocess(img, hipieSize));
  let mask: PlainTensor<Uint8Array> | undefined;
  const getMask = (): PlainTensor<Uint8Array> => {
    if (mask !== undefined) return mask;
    const mo = tensors.get('mask.original');
    if (mo === undefined) throw new Error('needs mask.original');
    const m: Image8 = { data: mo.data as Uint8Array, width: mo.shape[1], height: mo.shape[0], channels: 1 };
    return (mask = resizeMask(m, hipieSize));
  };
  const compute: Record<string, (t: MiniTensor) => { data: ArrayLike<number>; tol: number }> = {
    'clip224.pixel_values': (t) => ({ data: clipPreprocess(img, { size: side(t) }).data, tol: FLOAT_TOL }),
    'llava_pad336.pixel_values': (t) => ({ data: llavaPadPreprocess(img, side(t)).data, tol: FLOAT_TOL }),
    'hipie.resized_uint8': () => ({ data: getHipie().resized.data, tol: UINT8_TOL }),
    'hipie.input_size_hw': () => ({ data: getHipie().inputSizeHw, tol: 0 }),
    'hipie.normalized': () => ({ data: getHipie().normalized.data, tol: FLOAT_TOL }),
    'mask.resized_padded': () => ({ data: getMask().data, tol: UINT8_TOL }),
    'maskenc.pixel_values': (t) => {
      // Uses the golden resized mask as input so that this line isolates the crop recipe.
      const mr = tensors.get('mask.resized_padded');
      const box = tensors.get('maskenc.pred_box_xyxy');
      if (mr === undefined || box === undefined) throw new Error('needs mask.resized_padded and maskenc.pred_box_xyxy');
      const m = { data: mr.data as Uint8Array, shape: mr.shape };
      return { data: maskEncodeCrop(getHipie().padded, m, Array.from(box.data as Float32Array), side(t)).pixelValues.data, tol: FLOAT_TOL };
    },
    'boxenc.input_yxyx_over_1024': () => {
      const box = tensors.get('maskenc.pred_box_xyxy');
      const mr = tensors.get('mask.resized_padded');
      if (mr === undefined || box === undefined) throw new Error('needs mask.resized_padded and maskenc.pred_box_xyxy');
      const me = maskEncodeCrop(getHipie().padded, { data: mr.data as Uint8Array, shape: mr.shape }, Array.from(box.data as Float32Array));
      return { data: boxEncodeVector(me.box, hipieSize), tol: 0 };
    },
  };
  let compared = 0;
  let failed = 0;
  let worst = 0;
  for (const [name, t] of tensors) {
    const fn = compute[name];
    if (fn === undefined) {
      emit({ name, skipped: name === 'maskenc.pred_box_xyxy' || name === 'mask.original' ? 'input' : 'no TypeScript counterpart' });
      continue;
    }
    const ran = await runCase(name, () => {
      const started = performance.now();
      const { data, tol } = fn(t);
      const expected = t.data instanceof BigInt64Array ? Array.from(t.data, Number) : t.data;
      const s = errStats(data, expected);
      const pass = s.maxAbsErr <= tol;
      if (!pass) failed++;
      worst = Math.max(worst, s.maxAbsErr);
      emit({ name, shape: t.shape, dtype: t.dtype, ...s, tol, pass, ms: Math.round(performance.now() - started) });
    });
    compared++;
    if (!ran) failed++;
  }
  emit({ summary: 'preprocess', image: imagePath, compared, failed, worstAbsErr: worst, ok: failed === 0 && compared > 0 });
  return failed === 0 && compared > 0;
}
