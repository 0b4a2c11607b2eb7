/**
 * Evaluation of MRSeg conversations (what `segllm eval` runs, and what training runs every `eval.every` steps): each
 * conversation's rounds go through a chat session on its image, later rounds referring to the model's own masks (or
 * to the ground truth when asked), and the predictions and ground truth come back as the mask records that
 * `segllm data metrics` reads (COCO RLE at the original resolution). Node only (images are read from a folder).
 */
import { readImageFile } from '@segllm/models';
import {
  CocoIndex, encodeBytes, evaluateRecords, parseConversation, parseJson, readCocoInstances, rleFromCoco, rleToBoxXyxy, rleToCoco,
  type CocoImage, type MaskId, type MaskRecord, type MetricsResult, type ParsedConversation, type RleMask,
} from '@segllm/mrseg';
import type { SegLLM } from '../segllm.ts';
import type { ChatSession } from '../session/chat.ts';

/** A conversation that names an image or annotation the annotations file lacks, or an unreadable input file. */
export class EvalInputError extends Error {
  override readonly name = 'EvalInputError';
}

/**
 * The path of a conversation's image: a relative path inside `imagesDir` ("../x" or "/etc/x" is refused, so a
 * conversation file cannot make us read outside the image folder).
 */
export async function imageInside(imagesDir: string, image: string, convId: string): Promise<string> {
  const path = await import('node:path');
  const root = path.resolve(imagesDir);
  const p = path.resolve(root, image);
  const rel = path.relative(root, p);
  if (path.isAbsolute(image) || rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new EvalInputError(`conversation ${convId}: image ${JSON.stringify(image.slice(0, 200))} is not a file name inside the image folder ${imagesDir}`);
  }
  return p;
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

export interface EvalInputs {
  conversations: ParsedConversation[];
  coco: CocoIndex;
  imagesDir: string;
}

/** A prediction or ground-truth record as written to a records file (mask as COCO RLE). */
export interface EvalRecord {
  conv_id: string;
  round: number;
  mask: { size: [number, number]; counts: string };
  box?: [number, number, number, number];
}

/** Reads and parses a JSON file; `what` names it in errors. */
export async function readEvalJson(path: string, what: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new EvalInputError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  return parseJson(bytes, `${what} ${path}`);
}

/** The first `limit` conversations of a conversations file and the annotations they refer to. */
export async function readEvalInputs(conversations: string, annotations: string, imagesDir: string, limit = Infinity): Promise<EvalInputs> {
  const convJson = await readEvalJson(conversations, 'conversations');
  if (!Array.isArray(convJson)) throw new EvalInputError(`${conversations} must hold a JSON array of MRSeg conversations`);
  const coco = new CocoIndex(readCocoInstances(await readEvalJson(annotations, 'annotations'), { source: annotations }));
  return { conversations: convJson.slice(0, limit).map((c) => parseConversation(c)), coco, imagesDir };
}

/** The ground-truth mask (original resolution) of annotation `id`. */
function annotationMask(id: MaskId | null, what: string, coco: CocoIndex): RleMask {
  if (typeof id !== 'number' || !coco.annotations.has(id)) {
    throw new EvalInputError(`${what} ${JSON.stringify(id)} is not an annotation id of the annotations file`);
  }
  return coco.mask(id);
}

/** The ground-truth masks (original resolution) of a conversation's round targets. */
function targetMasks(c: ParsedConversation, convId: string, coco: CocoIndex, byName: Map<string, CocoImage>): RleMask[] {
  if (!byName.has(c.image) && !byName.has(c.image.split('/').pop() ?? '')) {
    throw new EvalInputError(`conversation ${convId}: image "${c.image}" is not in the annotations file`);
  }
  return c.rounds.map((r) => annotationMask(r.target, `conversation ${convId} round ${r.index}: target`, coco));
}

/** Runs the conversations; returns prediction and ground-truth records (original resolution). */
export async function evaluateConversations(
  model: SegLLM,
  inp: EvalInputs,
  opts: { references: 'predicted' | 'groundTruth'; log?: (s: string) => void },
): Promise<{ pred: EvalRecord[]; gt: EvalRecord[]; rounds: number; givenRefs: number }> {
  const byName = new Map<string, CocoImage>();
  for (const im of inp.coco.images.values()) byName.set(im.file_name ?? String(im.id), im);
  const pred: EvalRecord[] = [];
  const gt: EvalRecord[] = [];
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
        open = { image: c.image, session: await model.chat(await readImageFile(await imageInside(inp.imagesDir, c.image, convId))) };
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
      if (opts.log && (i === inp.conversations.length - 1 || now - last > 2000)) {
        last = now;
        opts.log(`eval: ${i + 1}/${inp.conversations.length} conversations, ${rounds} rounds\n`);
      }
    }
  } finally {
    open?.session.dispose();
  }
  return { pred, gt, rounds, givenRefs };
}

/** Per-round and overall cIoU, mIoU and P@0.5 of predictions against the ground truth (`segllm data metrics`). */
export function scoreEvalRecords(gt: readonly EvalRecord[], pred: readonly EvalRecord[]): MetricsResult {
  const toRecords = (a: readonly EvalRecord[]): MaskRecord[] => a.map((x) => ({ ...x, mask: rleFromCoco(x.mask) }));
  return evaluateRecords(toRecords(gt), toRecords(pred));
}
