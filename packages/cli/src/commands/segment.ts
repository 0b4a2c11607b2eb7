/** `segllm segment`: one round on one image; prints the round and optionally writes the mask PNG. */
import { guard } from '../lib/errors.ts';
import { processIo, type Io } from '../lib/io.ts';
import { parseOptions, required } from '../lib/args.ts';
import { DEFAULT_MODEL } from '@segllm/core';
import { loadModel } from '../lib/model.ts';
import { maskPng, roundLine, writeFileAtomic } from '../lib/output.ts';
import { openChat } from './chat.ts';
import type { Command } from './index.ts';

export const SEGMENT_USAGE = `usage: segllm segment [--model <checkpoint>] --image <file> --prompt "<text>" [--out mask.png]
         [--vision-tower <dir>] [--device auto|webgpu|cpu-wasm|cpu] [--dtype float32|float16]
  Runs one round and prints its box, score, mask area and time; --out writes the mask as a PNG (0/255).
  --model: a checkpoint folder, a hub id (owner/repo/variant) or a URL; default: the default model (today a tiny
  model with RANDOM weights: no trained default exists yet).
`;

export async function runSegment(argv: string[], io: Io = processIo): Promise<number> {
  return guard('segment', SEGMENT_USAGE, io.err, async () => {
    const v = parseOptions(argv, {
      model: { type: 'string' },
      'vision-tower': { type: 'string' },
      image: { type: 'string' },
      prompt: { type: 'string' },
      out: { type: 'string' },
      device: { type: 'string' },
      backend: { type: 'string' },
      dtype: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      io.out(SEGMENT_USAGE);
      return 0;
    }
    const modelDir = v.model ?? DEFAULT_MODEL.id;
    const imagePath = required(v.image, 'image');
    const prompt = required(v.prompt, 'prompt');
    const { model, ms } = await loadModel({ model: v.model, visionTower: v['vision-tower'], device: v.device ?? v.backend, dtype: v.dtype, progress: io.progress });
    io.err(`model ${modelDir} loaded in ${ms.toFixed(0)} ms\n`);
    if (v.model === undefined && !DEFAULT_MODEL.trained) io.err(`NOTE: no --model given: ${DEFAULT_MODEL.id} has RANDOM weights, so its masks are meaningless\n`);
    const { session } = await openChat(model, imagePath, io);
    try {
      const t0 = performance.now();
      io.progress?.status(`segmenting "${prompt.slice(0, 40)}"`);
      const r = await session.ask(prompt).finally(() => io.progress?.clear());
      io.out(`${roundLine(r, performance.now() - t0)}\n`);
      if (v.out) {
        await writeFileAtomic(v.out, maskPng(r.mask, r.width, r.height));
        io.err(`wrote ${v.out}\n`);
      }
      return 0;
    } finally {
      session.dispose();
    }
  });
}

export const segmentCommand: Command = {
  path: ['segment'],
  summary: 'segment one request in an image (one round) and write the mask PNG',
  run: (argv) => runSegment(argv),
};
