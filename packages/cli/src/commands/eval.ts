/**
 * `segllm eval`: runs every MRSeg conversation of a file through the model and writes the predicted masks in the
 * record format `segllm data metrics` reads ({conv_id, round, mask: COCO RLE, box: [x0, y0, x1, y1]}, original
 * resolution); --gt-out writes the matching ground truth from the annotations, so
 * `segllm data metrics --gt <gt> --pred <pred>` scores the run. --shard i/n keeps conversations whose index is i mod n.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { readImageFile } from '@segllm/models';
import type { ChatSession, SegLLM } from '@segllm/core';
import {
  CocoIndex, encodeBytes, evaluateRecords, parseConversation, parseJson, readCocoInstances, rleFromCoco, rleToBoxXyxy, rleToCoco,
  type CocoImage, type MaskId, type MaskRecord, type ParsedConversation, type RleMask,
} from '@segllm/mrseg';
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

/** Row-major 0/1 bytes of a (column-major) RLE mask. */
export function rleToRowMajor(r: RleMask): Uint8Array {
  const out = new Uint8Array(r.h * r.w);
  let p = 0;
  for (let j = 0; j < r.counts.length; j++) {
    const n = r.counts[j];
    if (j % 2 === 1) for (let q = p; q < p + n; q++) out[(q % r.h) * r.w + Math.floor(q / r.h)] = 1;
    p += n;
  }
  return out;
}

/**
 * The chat input of parsed round `k` (0-based): `[REF:j]` tags for references to earlier rounds, then the question;
 * references to given masks (round null: the hard split's round 1) as the annotation ids to pass as `given` masks.
 */
export function roundText(c: ParsedConversation, k: number): { text: string; given: MaskId[] } {
  const r = c.rounds[k];
  const refs = r.refs.filter((x) => x.round !== null).map((x) => `[REF:${x.round}]`);
  return { text: `${refs.join('')}${r.text}`, given: r.refs.filter((x) => x.round === null).map((x) => x.mask) };
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new CliUsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  return parseJson(bytes, `${what} ${path}`);
}

export interface EvalInputs {
  conversations: ParsedConversation[];
  coco: CocoIndex;
  imagesDir: string;
}

/** The ground-truth mask (original resolution) of annotation `id`, named in round `round` of a conversation. */
function annotationMask(id: MaskId | null, what: string, coco: CocoIndex): RleMask {
  if (typeof id !== 'number' || !coco.annotations.has(id)) {
    throw new CliUsageError(`${what} ${JSON.stringify(id)} is not an annotation id of the annotations file`);
  }
  return coco.mask(id);
}

/** The ground-truth masks (original resolution) of a conversation's round targets. */

/** The path of a conversation's image: a relative path inside --images ("../x" or "/etc/x" is refused). */
export function imageInside(imagesDir: string, image: string, convId: string): string {
  const root = resolve(imagesDir);
  const p = resolve(root, image);
  const rel = relative(root, p);
  if (isAbsolute(image) || rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new CliUsageError(`conversation ${convId}: image ${JSON.stringify(image.slice(0, 200))} is not a file name inside --images ${imagesDir}`);
  }
  return p;
}

function targetMasks(c: ParsedConversation, convId: string, coco: CocoIndex, byName: Map<string, CocoImage>): RleMask[] {
  if (!byName.has(c.image) && !byName.has(c.image.split('/').pop() ?? '')) {
    throw new CliUsageError(`conversation ${convId}: image "${c.image}" is not in the annotations file`);
  }
  return c.rounds.map((r) => annotationMask(r.target, `conversation ${convId} round ${r.index}: target`, coco));
}

/** Runs the conversations; returns prediction and ground-truth records (original resolution). */
export async function evaluateConversations(
  model: SegLLM,
  inp: EvalInputs,
  opts: { references: 'predicted' | 'groundTruth'; log: (s: string) => void },
): Promise<{ pred: object[]; gt: object[]; rounds: number; givenRefs: number }> {
  const byName = new Map<string, CocoImage>();
  for (const im of inp.coco.images.values()) byName.set(im.file_name ?? String(im.id), im);
  const pred: object[] = [];
  const gt: object[] = [];
  let rounds = 0;
  let givenRefs = 0;
  let last = performance.now();
  // One session per run of conversations on the same image: reset() keeps its image encodings.
  let open = null as { image: string; session: ChatSession } | null;
  try {
    for (const [i, c] of inp.conversations.entries()) {
      const convId = c.convId ?? `${i}`;
      const gtMasks = targetMasks(c, convId, inp.coco, byName);
      if (open?.image === c.image) open.session.reset();
      else {
        open?.session.dispose();
        open = null; // (a failed chat() below must not leave a disposed session to the finally)
        open = { image: c.image, session: await model.chat(await readImageFile(imageInside(inp.imagesDir, c.image, convId))) };
      }
      for (const k of c.rounds.keys()) {
        const { text, given } = roundText(c, k);
        givenRefs += given.length;
        const givenMasks = given.map((id) => rleToRowMajor(annotationMask(id, `conversation ${convId} round ${k + 1}: given mask`, inp.coco)));
        const r = await open.session.ask(text, { given: givenMasks });
        // Teacher forcing, as SegLLM.segmentConversation does: later references see this round's ground truth.
        if (opts.references === 'groundTruth') open.session.teacherForce(rleToRowMajor(gtMasks[k]));
        pred.push({ conv_id: convId, round: r.round, mask: rleToCoco(encodeBytes(r.mask, r.height, r.width)), box: r.box });
        const box = rleToBoxXyxy(gtMasks[k]);
        gt.push({ conv_id: convId, round: r.round, mask: rleToCoco(gtMasks[k]), ...(box ? { box } : {}) });
        rounds++;
      }
      const now = performance.now();
      if (i === inp.conversations.length - 1 || now - last > 2000) {
        last = now;
        opts.log(`eval: ${i + 1}/${inp.conversations.length} conversations, ${rounds} rounds\n`);
      }
    }
  } finally {
    open?.session.dispose();
  }
  return { pred, gt, rounds, givenRefs };
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
    const convJson = await readJsonFile(convPath, 'conversations');
    if (!Array.isArray(convJson)) throw new CliUsageError(`${convPath} must hold a JSON array of MRSeg conversations`);
    const conversations = convJson.filter((_, i) => i % shard.count === shard.index).map((c) => parseConversation(c));
    for (const [i, c] of conversations.entries()) imageInside(imagesDir, c.image, c.convId ?? `${i}`); // before loading anything
    const coco = new CocoIndex(readCocoInstances(await readJsonFile(annPath, 'annotations'), { source: annPath }));
    const { model, ms } = await loadModel({ model: modelDir, visionTower: v['vision-tower'], device: v.device ?? v.backend, dtype: v.dtype, progress: io.progress });
    io.err(`model ${modelDir} loaded in ${ms.toFixed(0)} ms; ${conversations.length} of ${convJson.length} conversations in shard ${shard.index}/${shard.count}\n`);
    const t0 = performance.now();
    const r = await evaluateConversations(model, { conversations, coco, imagesDir }, { references, log: io.err });
    await writeFileAtomic(out, `${JSON.stringify(r.pred)}\n`);
    if (v['gt-out']) await writeFileAtomic(v['gt-out'], `${JSON.stringify(r.gt)}\n`);
    const s = (performance.now() - t0) / 1000;
    if (r.givenRefs) io.err(`eval: ${r.givenRefs} references to given masks (hard queries) encoded from the ground truth\n`);
    io.err(`eval: wrote ${r.pred.length} predictions to ${out}${v['gt-out'] ? ` and the ground truth to ${v['gt-out']}` : ''} in ${s.toFixed(1)} s\n`);
    const toRecords = (a: object[]): MaskRecord[] =>
      (a as { conv_id: string; round: number; mask: { size: [number, number]; counts: string }; box?: [number, number, number, number] }[]).map((x) => ({ ...x, mask: rleFromCoco(x.mask) }));
    io.out(`${JSON.stringify(evaluateRecords(toRecords(r.gt), toRecords(r.pred)))}\n`);
    return 0;
  });
}

export const evalCommand: Command = {
  path: ['eval'],
  summary: 'run MRSeg conversations and write predictions (and ground truth) for `data metrics`',
  run: (argv) => runEval(argv),
};
