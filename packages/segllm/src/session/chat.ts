/**
 * A multi-round chat about one image. The image's CLIP and decoder features are computed once; each round runs only
 * its own tokens through LLaMA on top of the KV cache of the earlier rounds and decodes only its own `<seg>`
 * (the released CLI re-runs the whole conversation every round; `recomputeAll()` does that, and the tests prove both
 * give the same result). Each round's mask and box are encoded for later `[REF:k]`s.
 */
import type { Image8, Tokenizer, KVCache } from '@segllm/models';
import { hipiePreprocess, maskEncodeCrop, boxEncodeVector } from '@segllm/models';
import type { HipieInput } from '@segllm/models';
import type { Tensor } from '@segllm/tensor';
import { fromStorageArray, keep, noGrad, tensor, tidy } from '@segllm/tensor';
import { ContextLengthError, SegLLMError } from '../errors.ts';
import { layoutSlots, parseRound, renderConversation } from '../conversation/index.ts';
import type { RoundInput, Slot } from '../conversation/index.ts';
import type { SegLLMForSegmentation } from '../model/modeling.ts';
import type { DecoderFeatures, Detection } from '../model/decoder.ts';
import { imageSlots } from '../model/config.ts';
import { boxToOriginal, maskToOriginal } from './frame.ts';

export interface RoundResult {
  /** 1-based round number. */
  round: number;
  /** Binary mask (0/1) at the original resolution, row-major [height, width]. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** The mask in the decoder's padded square frame (size x size), as the release evaluates it. */
  maskFrame: Uint8Array;
  frameSize: number;
  /** [x0, y0, x1, y1] in original pixels, and in the padded frame. */
  box: [number, number, number, number];
  boxFrame: [number, number, number, number];
  score: number;
  /** The first referenced round (what the official CLI honours), or null. */
  referencedRound: number | null;
  /** Every referenced round, in the order written. */
  referencedRounds: number[];
}

interface RoundState {
  userText: string;
  input: RoundInput;
  result: RoundResult;
  /** Hidden state before this round's `<seg>` [D], and its phrase tokens [8, 768] (kept for checks). */
  hidden: Tensor;
  /** Encodings for later references, [D] each. */
  maskEncoding: Tensor;
  boxEncoding: Tensor;
  /** Token count after this round. */
  length: number;
}

export interface HistoryEntry {
  round: number;
  text: string;
  refs: number[];
  box: [number, number, number, number];
  score: number;
}

export interface ChatContext {
  model: SegLLMForSegmentation;
  tokenizer: Tokenizer;
  slotId: number;
  segId: number;
}

export class ChatSession {
  readonly width: number;
  readonly height: number;
  #rounds: RoundState[] = [];
  #ids: number[] = [];
  #cache: KVCache;
  #image: HipieInput;
  #patches: Tensor; // [N, D]
  #features: DecoderFeatures;
  #disposed = false;

  /** Use SegLLM.chat(image) to open a session. */
  constructor(
    readonly ctx: ChatContext,
    image: Image8,
    clipPixels: Tensor,
  ) {
    this.width = image.width;
    this.height = image.height;
    const m = ctx.model;
    const S = m.config.hipie_image_size;
    this.#image = hipiePreprocess(image, S);
    this.#patches = keep(noGrad(() => m.encodeImage(clipPixels)));
    const backend = clipPixels.backend;
    const input = fromStorageArray(this.#image.normalized.data, [1, 3, S, S], 'float32', { backend }); // [1, 3, S, S]
    // The decoder owns the memory of its features (they are released by features.dispose()).
    this.#features = noGrad(() => m.decoder.encodeImage(input));
    input.dispose();
    this.#cache = m.makeCache();
  }

  get rounds(): number {
    return this.#rounds.length;
  }

  /** Results of every round so far. */
  get results(): RoundResult[] {
    return this.#rounds.map((r) => r.result);
  }

  /** Asks for a mask; `[REF:k]` tags refer to the output of round k. */
  async ask(userText: string): Promise<RoundResult> {
    this.#assertOpen();
    const k = this.#rounds.length + 1;
    const input = parseRound(userText, k);
    const inputs = [...this.#rounds.map((r) => r.input), input];
    const { ids, newIds } = this.#tokenize(inputs);
    const m = this.ctx.model;
    const offset = this.#ids.length;
    const layout = layoutSlots(newIds, inputs, this.ctx.slotId, this.ctx.segId, imageSlots(m.config), k - 1, offset);
    const segPos = layout.segPositions[0];
    const hidden = keep(
      noGrad(() =>
        tidy(() => {
          const [positions, rows] = this.#injections(layout.slots, offset);
          const idsT = tensor(newIds, { dtype: 'int32', backend: this.#patches.backend }).reshape([1, newIds.length]);
          const embeds = m.embedChunk(idsT, positions, rows); // [1, T, D]
          const h = m.model.forward({ inputsEmbeds: embeds, cache: this.#cache }); // [1, T, D]
          return h.select(0, 0).select(0, segPos - 1 - offset).contiguous(); // [D]
        }),
      ),
    );
    try {
      const det = await this.#decode(hidden);
      const result = this.#result(k, input, det);
      const enc = this.#encodeForReference(det);
      this.#rounds.push({ userText, input, result, hidden, maskEncoding: enc.mask, boxEncoding: enc.box, length: ids.length });
      this.#ids = ids;
      return result;
    } catch (e) {
      hidden.dispose();
      this.#cache.truncate(offset);
      throw e;
    }
  }

  /**
   * Teacher forcing: replaces the last round's stored encodings by those of a ground-truth mask (padded frame, 0/1)
   * and box (default: the mask's tight box, exclusive ends), so later references see the ground truth.
   */
  replaceLastEncoding(maskFrame: Uint8Array, boxFrame?: [number, number, number, number]): void {
    this.#assertOpen();
    const last = this.#rounds.at(-1);
    if (!last) throw new SegLLMError('no round to replace: ask() first');
    const S = this.ctx.model.config.hipie_image_size;
    if (maskFrame.length !== S * S) throw new SegLLMError(`a ground-truth mask must be ${S}x${S} (the padded frame), got ${maskFrame.length} values`);
    const box = boxFrame ?? tightBox(maskFrame, S);
    const enc = this.#encodeForReference({ mask: maskFrame, box, score: 1 });
    last.maskEncoding.dispose();
    last.boxEncoding.dispose();
    last.maskEncoding = enc.mask;
    last.boxEncoding = enc.box;
  }

  /** Drops the last round (its tokens leave the KV cache). Returns false when there is none. */
  undo(): boolean {
    this.#assertOpen();
    const last = this.#rounds.pop();
    if (!last) return false;
    for (const t of [last.hidden, last.maskEncoding, last.boxEncoding]) t.dispose();
    const prev = this.#rounds.at(-1)?.length ?? 0;
    this.#cache.truncate(prev);
    this.#ids = this.#ids.slice(0, prev);
    return true;
  }

  /** Forgets every round (the image features stay). */
  reset(): void {
    while (this.undo());
  }

  /** A JSON-serialisable record of the conversation. */
  history(): HistoryEntry[] {
    return this.#rounds.map((r) => ({ round: r.result.round, text: r.userText, refs: r.input.refs, box: r.result.box, score: r.result.score }));
  }

  /** Hidden states before each round's `<seg>` from the incremental path, [rounds, D]. */
  hiddenStates(): Tensor[] {
    return this.#rounds.map((r) => r.hidden);
  }

  /**
   * The official loop: re-runs the whole conversation without a cache and returns the hidden state before every
   * `<seg>` ([D] each), using the stored encodings for references.
   */
  recomputeAll(): Tensor[] {
    this.#assertOpen();
    const m = this.ctx.model;
    const inputs = this.#rounds.map((r) => r.input);
    const ids = this.#ids;
    const layout = layoutSlots(ids, inputs, this.ctx.slotId, this.ctx.segId, imageSlots(m.config));
    return noGrad(() =>
      tidy(() => {
        const [positions, rows] = this.#injections(layout.slots, 0);
        const idsT = tensor(ids, { dtype: 'int32', backend: this.#patches.backend }).reshape([1, ids.length]);
        const h = m.model.forward({ inputsEmbeds: m.embedChunk(idsT, positions, rows) }).select(0, 0); // [L, D]
        return layout.segPositions.map((p) => h.select(0, p - 1).contiguous());
      }),
    );
  }

  /** Decodes a hidden state [D] (e.g. from recomputeAll) into a detection. */
  async decodeHidden(hidden: Tensor): Promise<Detection> {
    return this.#decode(hidden);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.reset();
    this.#disposed = true;
    this.#cache.dispose();
    this.#patches.dispose();
    this.#features.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #assertOpen(): void {
    if (this.#disposed) throw new SegLLMError('this chat session was disposed: open a new one with model.chat(image)');
  }

  #tokenize(inputs: RoundInput[]): { ids: number[]; newIds: number[] } {
    const limit = this.ctx.model.config.max_length;
    const text = renderConversation(inputs, this.ctx.model.templateFor());
    // Surely over the limit (margin 2 for normalisers that shrink text): refused without tokenizing.
    if (text.length > 2 * limit * this.ctx.tokenizer.maxTokenLength) throw new ContextLengthError(limit + 1, limit, true);
    const ids = this.ctx.tokenizer.encode(text, { maxTokens: limit });
    if (ids.length > limit) throw new ContextLengthError(ids.length, limit, true);
    const prev = this.#ids;
    for (let i = 0; i < prev.length; i++) {
      if (ids[i] !== prev[i]) throw new SegLLMError(`tokenisation of the conversation changed at token ${i}: the tokenizer is not prefix-stable here`);
    }
    return { ids, newIds: ids.slice(prev.length) };
  }

  /** Chunk-relative positions and rows to add for every slot. */
  #injections(slots: Slot[], offset: number): [number[], Tensor[]] {
    const positions: number[] = [];
    const rows: Tensor[] = [];
    for (const s of slots) {
      positions.push(s.position - offset);
      if (s.kind === 'image') rows.push(this.#patches.select(0, s.patch));
      else {
        const ref = this.#rounds[s.ref - 1];
        rows.push(s.kind === 'mask' ? ref.maskEncoding : ref.boxEncoding);
      }
    }
    return [positions, rows];
  }

  async #decode(hidden: Tensor): Promise<Detection> {
    const m = this.ctx.model;
    const phrase = noGrad(() => m.predictPhrases(hidden)); // [8, 768]
    try {
      return await m.decoder.decode(this.#features, phrase);
    } finally {
      phrase.dispose();
    }
  }

  #result(round: number, input: RoundInput, det: Detection): RoundResult {
    const S = this.ctx.model.config.hipie_image_size;
    const inHw = this.#image.inputSizeHw;
    const orig: [number, number] = [this.height, this.width];
    return {
      round,
      mask: maskToOriginal(det.mask, S, inHw, orig),
      width: this.width,
      height: this.height,
      maskFrame: det.mask,
      frameSize: S,
      box: boxToOriginal(det.box, inHw, orig),
      boxFrame: det.box,
      score: det.score,
      referencedRound: input.refs[0] ?? null,
      referencedRounds: input.refs,
    };
  }

  /** The inference recipe: masked crop of the padded image with the int-cast box -> CLIP CLS; box -> Linear; x0.5. */
  #encodeForReference(det: Detection): { mask: Tensor; box: Tensor } {
    const m = this.ctx.model;
    const S = m.config.hipie_image_size;
    const crop = maskEncodeCrop(this.#image.padded, { data: det.mask, shape: [S, S] }, det.box, m.config.vision.image_size);
    const backend = this.#patches.backend;
    return noGrad(() =>
      tidy(() => ({
        mask: keep(m.encodeMask(fromStorageArray(crop.pixelValues.data, [1, ...crop.pixelValues.shape], 'float32', { backend })).squeeze(0)),
        box: keep(m.encodeBox(fromStorageArray(boxEncodeVector(crop.box, S), [1, 4], 'float32', { backend })).squeeze(0)),
      })),
    );
  }
}

/** Tight [x0, y0, x1, y1] (exclusive ends) of a square 0/1 mask; an empty mask gives [0, 0, 0, 0]. */
export function tightBox(mask: Uint8Array, size: number): [number, number, number, number] {
  let x0 = size;
  let y0 = size;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!mask[y * size + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 + 1, y1 + 1];
}
