/**
 * npm run numerics -w @segllm/core [-- --rounds 4] [--backend cpu|webgpu] [--json]
 * How much the parameter dtype changes SegLLM's masks: a tiny SegLLM (random weights, seed 0) is saved once in
 * float32 and loaded as float32, float16 and bfloat16; each runs the same conversation. Per round and per dtype it
 * prints the largest |difference| from float32's of the answer's mask logits (the chosen query's [H/4, W/4] map, the
 * one thresholded into the mask), the fraction of the final frame mask's pixels that flip, and whether the chosen
 * query, the box or the score changed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HipieModel, newImage, postprocess } from '@segllm/models';
import type { HipieConfig, HipieOutputs } from '@segllm/models';
import { manualSeed } from '@segllm/tensor';
import type { DType, Tensor } from '@segllm/tensor';
import { availableBackends } from '@segllm/tensor/testing';
import {
  SegLLM, SegLLMForSegmentation, bundledTokenizer, bundledTokenizerJson, defaultDecoder, loadSegLLM, saveSegLLM, tinySegLLMConfig, tinySegLLMConfigJson,
} from '@segllm/core';
import type { RoundResult } from '@segllm/core';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const nRounds = Number(opt('--rounds') ?? 4);
const backend = opt('--backend') ?? 'cpu';
const json = args.includes('--json');
const PROMPTS = ['Segment the dog.', 'Segment the ball left of instance 1. [REF:1]', 'Segment the person holding the leash.', 'Segment the hat of instance 3. [REF:3]'];

/** Copies (float32) of what postprocess reads from every decode, in call order. */
type Captured = Pick<HipieOutputs, 'logits' | 'iou' | 'boxes' | 'masks' | 'imageSize'>;
const captured: Captured[] = [];
const decode = Object.getOwnPropertyDescriptor(HipieModel.prototype, 'decode')!.value as HipieModel['decode'];
HipieModel.prototype.decode = function (this: HipieModel, ...a: Parameters<HipieModel['decode']>): HipieOutputs {
  const out = decode.apply(this, a);
  const f32 = (t: Tensor): Tensor => (t.dtype === 'float32' ? t.clone() : t.to('float32'));
  captured.push({ logits: f32(out.logits), iou: f32(out.iou), boxes: f32(out.boxes), masks: f32(out.masks), imageSize: out.imageSize });
  return out;
};

interface Answer {
  query: number;
  logits: Float32Array;
  /** Every query's mask logits [Q, h, w]. */
  all: Float32Array;
}

/** The answer's query and its mask logits [h, w] (the map postprocess upsamples and thresholds). */
async function answerLogits(c: Captured, config: HipieConfig): Promise<Answer> {
  const seg = await postprocess(c as HipieOutputs, config);
  const query = seg.detections[seg.best].query;
  const [, , , h, w] = c.masks.shape; // [1, Q, 1, h, w]
  const all = await c.masks.data();
  const at = (config.num_bg_queries + query) * h * w;
  for (const t of [c.logits, c.iou, c.boxes, c.masks]) t.dispose();
  return { query, logits: Float32Array.from(all.subarray(at, at + h * w)), all: Float32Array.from(all) };
}

function picture(): ReturnType<typeof newImage> {
  const img = newImage(160, 120, 3);
  for (let y = 0; y < 120; y++) for (let x = 0; x < 160; x++) img.data.set([(x * 3) % 256, (y * 5) % 256, ((x + y) * 2) % 256], (y * 160 + x) * 3);
  return img;
}

interface Run {
  answers: Answer[];
  rounds: RoundResult[];
}

async function run(model: SegLLM, config: HipieConfig): Promise<Run> {
  captured.length = 0;
  const session = await model.chat(picture());
  const rounds: RoundResult[] = [];
  for (let r = 0; r < nRounds; r++) rounds.push(await session.ask(PROMPTS[r % PROMPTS.length]));
  session.dispose();
  const answers: Run['answers'] = [];
  for (const c of captured.splice(0)) answers.push(await answerLogits(c, config));
  return { answers, rounds };
}

if (!(await availableBackends()).includes(backend)) throw new Error(`backend '${backend}' is not available here`);
const tmp = await mkdtemp(join(tmpdir(), 'segllm-numerics-'));
const dir = join(tmp, 'tiny');
try {
  manualSeed(0);
  const config = tinySegLLMConfig({ imageSize: 128 });
  const net = new SegLLMForSegmentation(config, defaultDecoder(config));
  const save = { dtype: 'float32' as const, configJson: tinySegLLMConfigJson({ imageSize: 128 }), tokenizerJson: await bundledTokenizerJson() };
  await saveSegLLM(new SegLLM(net, await bundledTokenizer()), dir, save);
  net.dispose();
  const results = new Map<DType, Run>();
  for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
    const { model } = await loadSegLLM(dir, { dtype, backend });
    results.set(dtype, await run(model, config.hipie));
    model.model.dispose();
  }
  const ref = results.get('float32')!;
  for (const [dtype, r] of results) {
    if (dtype === 'float32') continue;
    for (let i = 0; i < nRounds; i++) {
      const a = ref.answers[i].logits;
      const b = r.answers[i].logits;
      const maxAbsDiff = (x: Float32Array, y: Float32Array): number => x.reduce((m, v, j) => Math.max(m, Math.abs(v - y[j])), 0);
      const maxRef = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const ma = ref.rounds[i].maskFrame;
      const mb = r.rounds[i].maskFrame;
      let flipped = 0;
      for (let j = 0; j < ma.length; j++) if (ma[j] !== mb[j]) flipped++;
      const row = {
        backend, dtype, round: i + 1, sameQuery: ref.answers[i].query === r.answers[i].query, maskLogitsMaxAbsDiff: +maxAbsDiff(a, b).toPrecision(3), maskLogitsMaxAbs: +maxRef.toPrecision(3),
        allQueriesMaxAbsDiff: +maxAbsDiff(ref.answers[i].all, r.answers[i].all).toPrecision(3),
        flippedFraction: +(flipped / ma.length).toPrecision(3), flippedPixels: flipped, framePixels: ma.length,
        boxChanged: ref.rounds[i].boxFrame.some((v, k) => Math.abs(v - r.rounds[i].boxFrame[k]) > 0.5), scoreDiff: +Math.abs(ref.rounds[i].score - r.rounds[i].score).toPrecision(3),
      };
      console.log(json ? JSON.stringify(row) : Object.entries(row).map(([k, v]) => `${k}=${String(v)}`).join(' '));
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
process.exit(0); // a WebGPU device (Dawn) would keep Node running
