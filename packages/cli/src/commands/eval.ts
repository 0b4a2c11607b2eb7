/**
 * `segllm eval`: runs every MRSeg conversation of a file through the model and writes the predicted masks in the
 * record format `segllm data metrics` reads ({conv_id, round, mask: COCO RLE, box: [x0, y0, x1, y1]}, original
 * resolution); --gt-out writes the matching ground truth from the annotations, so
 * `segllm data metrics --gt <gt> --pred <pred>` scores the run. --shard i/n keeps conversations whose index is i mod n.
 * The evaluation itself is @segllm/core/train's evaluateConversations (training runs it too).
 */
export { rleToRowMajor, roundText } from '@segllm/core/train';
import { evaluateConversations, imageInside, readEvalJson, scoreEvalRecords } from '@segllm/core/train';
import { CocoIndex, parseConversation, readCocoInstances } from '@segllm/mrseg';
import { guard } from '../lib/errors.ts';
import { processIo, type Io } from '../lib/io.ts';
import { CliUsageError, parseOptions, parseShard as parseShardOption, required } from '../lib/args.ts';
import { loadModel } from '../lib/model.ts';
import { writeFileAtomic } from '../lib/output.ts';
import type { Command } from './index.ts';

export const EVAL_USAGE = `usage: segllm eval --model <checkpoint dir> --conversations <MRSeg conversations.json> --annotations <COCO json>
         --images <dir> --out <pred.json> [--gt-out <gt.json>] [--references predicted|groundTruth] [--shard i/n]
         [--vision-tower <dir>] [--device auto|webgpu|cpu-wasm|cpu] [--dtype float32|float16]
  Each conversation's image is <images>/<name in [IMAGE256:name]>; round targets and references are annotation ids.
  --references predicted (default): later rounds refer to the model's own masks; groundTruth: to the ground truth.
  Score the run with: segllm data metrics --gt <gt.json> --pred <pred.json>
`;

/** Parses "i/n" (0 <= i < n). */
export function parseShard(s: string | undefined): { index: number; count: number } {
  const [index, count] = parseShardOption(s);
  return { index, count };
}

export async function runEval(argv: string[], io: Io = processIo): Promise<number> {
  return guard('eval', EVAL_USAGE, io.err, async () => {
    const v = parseOptions(argv, {
      model: { type: 'string' },
      'vision-tower': { type: 'string' },
      conversations: { type: 'string' },
      annotations: { type: 'string' },
      images: { type: 'string' },
      references: { type: 'string' },
      shard: { type: 'string' },
      out: { type: 'string' },
      'gt-out': { type: 'string' },
      device: { type: 'string' },
      backend: { type: 'string' },
      dtype: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      io.out(EVAL_USAGE);
      return 0;
    }
    const modelDir = required(v.model, 'model');
    const convPath = required(v.conversations, 'conversations');
    const annPath = required(v.annotations, 'annotations');
    const imagesDir = required(v.images, 'images');
    const out = required(v.out, 'out');
    const references = v.references ?? 'predicted';
    if (references !== 'predicted' && references !== 'groundTruth') throw new CliUsageError(`--references must be predicted or groundTruth, got "${references}"`);
    const shard = parseShard(v.shard);
    const convJson = await readEvalJson(convPath, 'conversations');
    if (!Array.isArray(convJson)) throw new CliUsageError(`${convPath} must hold a JSON array of MRSeg conversations`);
    const conversations = convJson.filter((_, i) => i % shard.count === shard.index).map((c) => parseConversation(c));
    for (const [i, c] of conversations.entries()) await imageInside(imagesDir, c.image, c.convId ?? `${i}`); // before loading anything
    const coco = new CocoIndex(readCocoInstances(await readEvalJson(annPath, 'annotations'), { source: annPath }));
    const { model, ms } = await loadModel({ model: modelDir, visionTower: v['vision-tower'], device: v.device ?? v.backend, dtype: v.dtype, progress: io.progress });
    io.err(`model ${modelDir} loaded in ${ms.toFixed(0)} ms; ${conversations.length} of ${convJson.length} conversations in shard ${shard.index}/${shard.count}\n`);
    const t0 = performance.now();
    const r = await evaluateConversations(model, { conversations, coco, imagesDir }, { references, log: io.err });
    await writeFileAtomic(out, `${JSON.stringify(r.pred)}\n`);
    if (v['gt-out']) await writeFileAtomic(v['gt-out'], `${JSON.stringify(r.gt)}\n`);
    const s = (performance.now() - t0) / 1000;
    if (r.givenRefs) io.err(`eval: ${r.givenRefs} references to given masks (hard queries) encoded from the ground truth\n`);
    io.err(`eval: wrote ${r.pred.length} predictions to ${out}${v['gt-out'] ? ` and the ground truth to ${v['gt-out']}` : ''} in ${s.toFixed(1)} s\n`);
    io.out(`${JSON.stringify(scoreEvalRecords(r.gt, r.pred))}\n`);
    return 0;
  });
}

export const evalCommand: Command = {
  path: ['eval'],
  summary: 'run MRSeg conversations and write predictions (and ground truth) for `data metrics`',
  run: (argv) => runEval(argv),
};
