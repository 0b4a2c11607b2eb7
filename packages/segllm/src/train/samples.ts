/**
 * One SegLLM training sample from an MRSeg conversation, as the official dataset builds it (segllm-reference.md
 * 2.3, 3.3-3.5, 5.1; TRAIN `__getitem__`, `build_query`, `preprocess_plain_gen`):
 * - every bracket of a turn is replaced in place by its slots (`[IMAGE256:..]` -> 256 `<video>`, `[MASK-ENCODE:..]`
 *   and `[BOX-ENCODE:..]` -> one `<video>` each, `[MASK-DECODE:..]` -> `<seg>`), so the data's own spacing is kept,
 *   and encodings may appear in round 1 (the hard split);
 * - ids and labels from the official label arithmetic (labels.ts);
 * - image: CLIP-224 input and the normalised, padded HIPIE input; reference encodings from the ground truth with the
 *   training recipe (encodings.ts), each kept with probability 0.5 or zeroed (null);
 * - per `<seg>`: target and reference (the first MASK-DECODE reference) in the padded S x S frame; the mask loss is
 *   kept for a random 2 of the conversation's `<seg>`s (HU `segment_mask`, max_rounds 2).
 */
import { PreprocessError, clipPreprocess, hipiePreprocess } from '@segllm/models';
import type { Image8, Tokenizer } from '@segllm/models';
import { ConversationFormatError, decodeRle, parseConversation, parseMaskId, rleToPaddedFrame } from '@segllm/mrseg';
import type { MaskId, ParsedConversation, RleMask, Rng } from '@segllm/mrseg';
import { SEGLLM_TEMPLATE, type ConversationTemplate } from '../conversation/template.ts';
import { imageSlots, type SegLLMConfig } from '../model/config.ts';
import { groundTruthBox, groundTruthMaskPixels } from './encodings.ts';
import { TrainSampleError, type TrainSampleProblem } from './errors.ts';
import { labelPrompt, renderPrompt, type Message } from './labels.ts';

export interface TrainSample {
  source: { file: string; convId: string };
  /** [T] token ids incl. BOS; image and reference slots are `<video>` ids. */
  ids: Int32Array;
  /** [T] targets at their own position (HF convention: the model shifts), -100 where ignored. */
  labels: Int32Array;
  /** [3, 224, 224] CLIP input of the image (shortest side, centre crop), as at inference. */
  clipPixels: Float32Array;
  /** [3, S, S] normalised, zero-padded HIPIE input. */
  hipiePixels: Float32Array;
  /** Position of the first of the image slots. */
  imageStart: number;
  /** Mask-encode slots in order; pixels [3, 224, 224], null = zeroed by the 0.5 dropout. */
  maskSlots: { position: number; pixels: Float32Array | null }[];
  /** Box-encode slots in order; box [y0, x0, y1, x1] / S (inclusive max), null = zeroed. */
  boxSlots: { position: number; box: [number, number, number, number] | null }[];
  /** One per `<seg>`: masks in the padded S x S frame (row-major 0/1; reference null = none or empty; the same mask
   *  may be one shared array, e.g. round 1's target and round 2's reference: read only). */
  segs: { position: number; target: Uint8Array; reference: Uint8Array | null; lossMask: boolean }[];
}

/** Masks by annotation id of a dataset (`<ds>` of the markup) at the image's resolution (undefined: no such annotation). */
export type MaskLookup = (id: MaskId, dataset: string) => RleMask | undefined;

export interface SampleOptions {
  tokenizer: Tokenizer;
  config: SegLLMConfig;
  template?: ConversationTemplate;
  /** Probability that an encoding is kept (the official training keeps each with 0.5). */
  keepEncoding?: number;
  /** `<seg>`s per conversation that get the mask loss (official: 2). */
  maskLossRounds?: number;
}

/** A slot job in order of appearance; `round` is 0-based. */
type Job = { kind: 'image' | 'seg'; round: number } | { kind: 'mask' | 'box'; id: MaskId; round: number };

const BRACKET = /\[[^\]]+\]/g;
const KINDS = ['IMAGE256', 'MASK-ENCODE', 'BOX-ENCODE', 'MASK-DECODE'] as const;

/** Replaces the brackets of one turn in place (as `find_brackets` + `str.replace(.., 1)`), recording the jobs. */
function replaceBrackets(value: string, human: boolean, round: number, t: ConversationTemplate, jobs: Job[], nImage: number): string {
  return value.replace(BRACKET, (b) => {
    const kind = KINDS.find((k) => b.includes(k));
    if (kind === undefined) return b; // upstream prints and keeps unknown brackets
    if (kind === 'MASK-DECODE') {
      if (human) throw new ConversationFormatError('[MASK-DECODE:...] in a human turn');
      jobs.push({ kind: 'seg', round });
      return t.segToken;
    }
    if (!human) throw new ConversationFormatError(`[${kind}:...] in a gpt turn`);
    if (kind === 'IMAGE256') {
      jobs.push({ kind: 'image', round });
      return t.slotToken.repeat(nImage);
    }
    const id = parseMaskId(b.slice(1, -1).split('|')[2] ?? '');
    if (id === null) throw new ConversationFormatError(`${b} has no mask id`);
    jobs.push({ kind: kind === 'MASK-ENCODE' ? 'mask' : 'box', id, round });
    return t.slotToken;
  });
}

/** The bracket-replaced messages of a (validated) conversation item and its slot jobs in order of appearance. */
export function conversationMessages(item: unknown, t: ConversationTemplate, nImage: number): { messages: Message[]; jobs: Job[] } {
  const turns = (item as { conversations: { from: 'human' | 'gpt'; value: string }[] }).conversations;
  const jobs: Job[] = [];
  const messages = turns.map((turn, j) => ({
    from: turn.from,
    value: replaceBrackets(turn.value, turn.from === 'human', j >> 1, t, jobs, nImage),
  }));
  return { messages, jobs };
}

/** Row-major 0/1 bytes of a mask in the padded S x S frame (Pillow-exact bilinear resize, as HIPIE's processor). */
export function paddedMask(m: RleMask, S: number): Uint8Array {
  return decodeRle(rleToPaddedFrame(m, S)).toBytes('row');
}

type Fail = (problem: TrainSampleProblem, detail: string) => never;

function lookup(masks: (id: MaskId) => RleMask | undefined, id: MaskId | null, image: Image8, fail: Fail, what: string): RleMask {
  if (id === null) fail('format', `${what} has no mask id`);
  let m: RleMask | undefined;
  try {
    m = masks(id);
  } catch (e) {
    fail('format', `${what}: annotation ${JSON.stringify(id)} cannot be read: ${(e as Error).message}`);
  }
  if (!m) fail('unknown-annotation', `${what}: annotation ${JSON.stringify(id)} does not exist`);
  if (m.h !== image.height || m.w !== image.width) {
    fail('format', `${what}: annotation ${JSON.stringify(id)} is ${m.w}x${m.h} but the image is ${image.width}x${image.height}`);
  }
  return m;
}

/** Token positions of each job; a `<seg>` counts only where its label is `<seg>` (LL 203). */
function locateSlots(ids: Int32Array, labels: Int32Array, jobs: Job[], slotId: number, segId: number, nImage: number, fail: Fail): number[] {
  const video: number[] = [];
  const seg: number[] = [];
  ids.forEach((id, i) => {
    if (id === slotId) video.push(i);
    else if (id === segId && labels[i] === segId) seg.push(i);
  });
  let v = 0;
  let s = 0;
  const out = jobs.map((j) => {
    if (j.kind === 'seg') return seg[s++];
    const p = video[v];
    v += j.kind === 'image' ? nImage : 1;
    return p;
  });
  if (v !== video.length || s !== seg.length) {
    fail('format', `${video.length} <video> and ${seg.length} supervised <seg> tokens for ${v} slots and ${s} decodes: does the text contain '<video>' or '<seg>'?`);
  }
  return out;
}

/** Tokens, labels and slot positions of a conversation item (no pixels); throws TrainSampleError. */
export function tokenizeConversation(item: unknown, opts: SampleOptions, fail: Fail): { parsed: ParsedConversation; ids: Int32Array; labels: Int32Array; jobs: Job[]; positions: number[] } {
  const { tokenizer: tok, config } = opts;
  const t = opts.template ?? SEGLLM_TEMPLATE;
  const nImage = imageSlots(config);
  let parsed: ParsedConversation;
  let built: { messages: Message[]; jobs: Job[] };
  try {
    parsed = parseConversation(item);
    built = conversationMessages(item, t, nImage);
  } catch (e) {
    if (e instanceof ConversationFormatError) fail('format', e.message);
    throw e;
  }
  const { ids, labels, mismatch } = labelPrompt(renderPrompt(built.messages, t), tok, t);
  if (ids.length > config.max_length) fail('too-long', `${ids.length} tokens, over the context of ${config.max_length}`);
  if (mismatch) fail('label-mismatch', 'the label arithmetic does not end on the token count, so upstream ignores every label');
  const slotId = tok.tokenToId(t.slotToken);
  const segId = tok.tokenToId(t.segToken);
  if (slotId === undefined || segId === undefined) fail('format', `the tokenizer has no ${t.slotToken} or ${t.segToken}`);
  const positions = locateSlots(ids, labels, built.jobs, slotId, segId, nImage, fail);
  return { parsed, ids, labels, jobs: built.jobs, positions };
}

/** Builds one training sample; throws TrainSampleError for a conversation that cannot be used. */
export function buildTrainSample(
  item: unknown,
  image: Image8,
  masks: MaskLookup,
  opts: SampleOptions,
  rng: Rng,
  source: { file: string; convId: string },
): TrainSample {
  const fail: Fail = (p, d) => {
    throw new TrainSampleError(p, source.file, source.convId, d);
  };
  const tokens = tokenizeConversation(item, opts, fail);
  try {
    return fillSample(tokens, image, masks, opts, rng, source, fail);
  } catch (e) {
    if (e instanceof PreprocessError) fail('bad-image', e.message);
    throw e;
  }
}

/** Pixels, encodings and masks of a tokenised conversation. */
function fillSample(
  { parsed, ids, labels, jobs, positions }: ReturnType<typeof tokenizeConversation>,
  image: Image8,
  masks: MaskLookup,
  opts: SampleOptions,
  rng: Rng,
  source: { file: string; convId: string },
  fail: Fail,
): TrainSample {
  const { config } = opts;
  const S = config.hipie_image_size;
  const keep = opts.keepEncoding ?? 0.5;
  const find = (id: MaskId) => masks(id, parsed.dataset);
  // A mask is often named three times (a target, then a reference and a box encoding): frame it once.
  const frames = new Map<string, Uint8Array>();
  const framed = (id: MaskId | null, what: string) => {
    const key = JSON.stringify(id);
    let f = frames.get(key);
    if (!f) frames.set(key, (f = paddedMask(lookup(find, id, image, fail, what), S)));
    return f;
  };
  const sample: TrainSample = {
    source: { ...source },
    ids,
    labels,
    clipPixels: clipPreprocess(image, { size: config.vision.image_size }).data,
    hipiePixels: hipiePreprocess(image, S).normalized.data,
    imageStart: positions[jobs.findIndex((j) => j.kind === 'image')] ?? fail('format', 'the conversation has no [IMAGE256:...]'),
    maskSlots: [],
    boxSlots: [],
    segs: [],
  };
  jobs.forEach((j, n) => {
    const position = positions[n];
    const what = `round ${j.round + 1} ${j.kind === 'seg' ? 'target' : `${j.kind} encoding`}`;
    if (j.kind === 'seg') {
      const r = parsed.rounds[j.round];
      const target = framed(r.target, what);
      if (!target.includes(1)) fail('empty-mask', `${what} ${JSON.stringify(r.target)} is empty in the ${S}x${S} frame`);
      const ref = r.decodeRefs.length > 0 ? framed(r.decodeRefs[0], `round ${j.round + 1} reference`) : null;
      sample.segs.push({ position, target, reference: ref?.includes(1) ? ref : null, lossMask: true });
    } else if (j.kind === 'mask') {
      const px = decodeRle(lookup(find, j.id, image, fail, what)).toBytes('row');
      if (!px.includes(1)) fail('empty-mask', `${what}: annotation ${JSON.stringify(j.id)} is empty`);
      const kept = rng.next() < keep && config.mask_encoding; // the draw happens either way: ablations see the same stream
      sample.maskSlots.push({ position, pixels: kept ? groundTruthMaskPixels(image, px, config.vision.image_size) : null });
    } else if (j.kind === 'box') {
      const px = framed(j.id, what);
      if (!px.includes(1)) fail('empty-mask', `${what}: annotation ${JSON.stringify(j.id)} is empty in the ${S}x${S} frame`);
      const kept = rng.next() < keep && config.box_encoding;
      sample.boxSlots.push({ position, box: kept ? groundTruthBox(px, S) : null });
    }
  });
  const k = opts.maskLossRounds ?? 2;
  if (sample.segs.length > k) {
    const chosen = rng.shuffle(sample.segs.map((_, i) => i < k));
    sample.segs.forEach((s, i) => (s.lossMask = chosen[i]));
  }
  return sample;
}
