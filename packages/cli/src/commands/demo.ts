/**
 * `segllm demo`: the whole pipeline on this machine with no downloads: a tiny SegLLM with RANDOM weights, one
 * MRSeg-Shapes scene, a 3-round conversation with a reference, and what each stage did and took.
 */
import { encodeBytes, generateShapesSample, rleFromCoco, rleIntersectionUnion, VAL_SEED, parseConversation, type ConversationJson, type ParsedConversation } from '@segllm/mrseg';
import { newImage } from '@segllm/models';
import { getBackend } from '@segllm/tensor';
import { guard } from '../lib/errors.ts';
import { processIo, type Io } from '../lib/io.ts';
import { CliUsageError, parseOptions } from '../lib/args.ts';
import { buildTinySegLLM, prepareBackend } from '../lib/model.ts';
import { saveSegLLM } from '@segllm/core';
import { maskArea } from '../lib/output.ts';
import { roundText } from '@segllm/core/train';
import type { Command } from './index.ts';

const DEMO_USAGE = `usage: segllm demo [--device auto|webgpu|cpu-wasm|cpu] [--seed <n>] [--scene <n>] [--save <dir>]
  Builds a tiny SegLLM with random weights, renders an MRSeg-Shapes validation scene (--scene, default 0) and runs a
  3-round conversation with a reference on it, printing each stage's time. No downloads.
  --save <dir> also writes the tiny model as a release-layout checkpoint (bf16 shards), for trying
  segllm chat / segment / eval without a real one.
`;

/** The first conversation of the scene with at least 3 rounds and a reference to an earlier round (else the longest). */
export function pickConversation(convs: readonly ConversationJson[]): ParsedConversation | null {
  const parsed = convs.map((c) => parseConversation(c));
  const withRef = parsed.find((c) => c.rounds.length >= 3 && c.rounds.slice(1, 3).some((r) => r.refs.some((x) => x.round !== null)));
  const best = withRef ?? [...parsed].sort((a, b) => b.rounds.length - a.rounds.length)[0];
  return best ? { ...best, rounds: best.rounds.slice(0, 3) } : null;
}

export async function runDemo(argv: string[], io: Io = processIo): Promise<number> {
  return guard('demo', DEMO_USAGE, io.err, async () => {
    const v = parseOptions(argv, { device: { type: 'string' }, backend: { type: 'string' }, seed: { type: 'string' }, scene: { type: 'string' }, save: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (v.help) {
      io.out(DEMO_USAGE);
      return 0;
    }
    const say = (s: string): void => io.out(`${s}\n`);
    const tAll = performance.now();
    const { backend } = await prepareBackend(v.device ?? v.backend, 'float32');
    const info = (getBackend(backend).info?.() ?? {}) as { threads?: number; adapter?: { description?: string }; features?: string[] };
    const where = info.adapter ? `${info.adapter.description ?? 'unknown adapter'}; ${(info.features ?? []).join(', ')}` : `${info.threads ?? 1} thread(s)`;
    say(`segllm demo on ${backend} (${where})`);
    say('NOTE: this model has RANDOM weights, so its masks are meaningless; the demo shows the pipeline and its timings.');

    let t0 = performance.now();
    const seed = Number(v.seed ?? 0);
    if (!Number.isInteger(seed)) throw new CliUsageError(`--seed must be an integer, got "${v.seed}"`);
    const { model, configJson, tokenizerJson } = await buildTinySegLLM({ seed, backend });
    const cfg = model.model.config;
    let params = 0;
    for (const t of model.model.stateDict().values()) params += t.numel;
    say(`1. model: tiny SegLLM (LLaMA ${cfg.llava.llm.num_hidden_layers} layers x ${cfg.llava.llm.hidden_size}, CLIP ${cfg.vision.num_hidden_layers} layers at ${cfg.vision.image_size} px, decoder at ${cfg.hipie_image_size} px), ${params.toLocaleString('en-US')} parameters, built in ${(performance.now() - t0).toFixed(0)} ms`);

    if (v.save) {
      t0 = performance.now();
      await saveSegLLM(model, v.save, { configJson, tokenizerJson });
      say(`   saved as a checkpoint in ${v.save} (${(performance.now() - t0).toFixed(0)} ms): segllm chat --model ${v.save} --image <file>`);
    }

    t0 = performance.now();
    const scene = Number(v.scene ?? 0);
    if (!Number.isInteger(scene) || scene < 0) throw new CliUsageError(`--scene must be a non-negative integer, got "${v.scene}"`);
    const sample = generateShapesSample(scene, 'val', VAL_SEED, { nextAnn: 1, nextRel: 1 });
    const conv = pickConversation(Object.values(sample.conversations).flat());
    if (!conv) throw new Error(`MRSeg-Shapes scene ${scene} has no conversation: try another --scene`);
    const { width: w, height: h, rgb } = sample.rendered;
    const image = newImage(w, h, 3);
    image.data.set(rgb);
    say(`2. scene: MRSeg-Shapes val #${scene} (${w}x${h}, ${sample.scene.objects.length} objects, ${sample.annotations.annotations.length} annotations), conversation ${conv.convId ?? ''} in ${(performance.now() - t0).toFixed(0)} ms`);

    t0 = performance.now();
    io.progress?.status('encoding the image');
    const session = await model.chat(image).finally(() => io.progress?.clear());
    say(`3. image encodings (CLIP patches + decoder features, once per image): ${(performance.now() - t0).toFixed(0)} ms`);
    const anns = new Map(sample.annotations.annotations.map((a) => [a.id, a]));
    try {
      for (const [k, r] of conv.rounds.entries()) {
        const { text } = roundText(conv, k);
        t0 = performance.now();
        io.progress?.status(`round ${k + 1}`);
        const res = await session.ask(text).finally(() => io.progress?.clear());
        const ms = performance.now() - t0;
        const gtAnn = typeof r.target === 'number' ? anns.get(r.target) : undefined;
        let iou = 'n/a';
        if (gtAnn) {
          const { intersection, union } = rleIntersectionUnion(encodeBytes(res.mask, h, w), rleFromCoco(gtAnn.segmentation));
          iou = union ? (intersection / union).toFixed(3) : '1.000';
        }
        const area = maskArea(res.mask);
        say(`4.${k + 1} round ${res.round}: "${text}"`);
        say(`     ${ms.toFixed(0)} ms; box [${res.box.map((x) => x.toFixed(1)).join(', ')}] score ${res.score.toFixed(3)}; mask ${area} px (${((100 * area) / (w * h)).toFixed(1)}%); IoU vs ground truth ${iou}${res.referencedRounds.length ? `; used round ${res.referencedRounds.join(', ')}'s mask + box encodings` : ''}`);
      }
    } finally {
      session.dispose();
    }
    say(`done in ${((performance.now() - tAll) / 1000).toFixed(1)} s.`);
    say('The IoUs are poor because the weights are random. Real results need a trained checkpoint (release layout), e.g.:');
    say('  segllm chat --model <checkpoint dir> [--vision-tower <clip-vit-large-patch14 dir>] --image photo.jpg --device webgpu');
    return 0;
  });
}

export const demoCommand: Command = {
  path: ['demo'],
  summary: 'run a tiny random-weight SegLLM on a synthetic scene (no downloads) and show each stage',
  run: (argv) => runDemo(argv),
};
