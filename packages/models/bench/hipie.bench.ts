/**
 * HIPIE benchmark cases (hooked into bench/index.ts; `npm run bench -w @segllm/models -- hipie`): with random weights
 * at the released sizes (HIPIE_R50) on one backend, batch 1:
 * - backbone + input projection (+ position embeddings) on a 1024x1024 image (`encodeImage`), and
 * - one decode from the VL fusion through the mask logits (`decode`, 8 x 768 phrase tokens), with its readback,
 * - the post-processing of that decode (NMS, top-k, one x4 mask upsampling to 1024 and threshold).
 */
import { Generator, noGrad, randn } from '@segllm/tensor';
import type { DType, Tensor } from '@segllm/tensor';
import { HIPIE_R50, HipieModel, disposeHipieOutputs, disposeImageFeatures, postprocess } from '../src/index.ts';

export interface HipieBenchRow {
  backend: string;
  case: string;
  dtype: DType;
  ms: number;
  runs: number;
  gflop: number;
  gflops: number;
  note?: string;
}

type Timer = (backend: string, fn: () => Tensor | Tensor[]) => Promise<{ ms: number; runs: number }>;

/** Approximate GFLOP (segllm-reference.md 9.2): ResNet-50 at 1024 plus the input projection; one decode. */
const ENCODE_GFLOP = (2 * 4.1 * (1024 * 1024)) / (224 * 224) + 2 * (512 * 128 * 128 + 1024 * 64 * 64 + 2048 * 32 * 32 + 9 * 2048 * 16 * 16) * 256 / 1e9;
const DECODE_GFLOP = 450;

export async function benchHipie(o: { backend: string; dtype: DType }, time: Timer): Promise<HipieBenchRow[]> {
  const { backend, dtype } = o;
  const rows: HipieBenchRow[] = [];
  const model = noGrad(() => new HipieModel(HIPIE_R50, { backend, dtype, generator: new Generator(0) }).eval());
  const img = randn([1, 3, 1024, 1024], { backend, dtype, generator: new Generator(1) });
  const tokens = randn([8, 768], { backend, dtype, generator: new Generator(2) });
  const enc = await time(backend, () => {
    const f = model.encodeImage(img);
    return [...f.srcs, ...f.pos];
  });
  rows.push({ backend, case: 'HIPIE backbone + input projection 1024x1024', dtype, ...enc, gflop: ENCODE_GFLOP, gflops: ENCODE_GFLOP / (enc.ms / 1000) });
  const feats = noGrad(() => model.encodeImage(img));
  for (const t of [...feats.srcs, ...feats.pos]) await t.data();
  const dec = await time(backend, () => {
    const out = model.decode(feats, tokens);
    const keep = [out.masks, out.logits, out.boxes, out.iou];
    for (const t of Object.values(out).flat()) if (typeof t === 'object' && 'dispose' in t && !keep.includes(t as Tensor)) (t as Tensor).dispose();
    return keep;
  });
  rows.push({ backend, case: 'HIPIE decode (fusion..mask logits, 110 queries)', dtype, ...dec, gflop: DECODE_GFLOP, gflops: DECODE_GFLOP / (dec.ms / 1000) });
  const out = noGrad(() => model.decode(feats, tokens));
  const t0 = performance.now();
  const seg = await postprocess(out, HIPIE_R50);
  const pms = performance.now() - t0;
  rows.push({ backend, case: 'HIPIE post-processing (NMS, top-k, 1 mask to 1024)', dtype, ms: pms, runs: 1, gflop: 0, gflops: 0, note: `${seg.detections.length} detections` });
  disposeHipieOutputs(out);
  disposeImageFeatures(feats);
  img.dispose();
  tokens.dispose();
  model.dispose();
  return rows;
}
