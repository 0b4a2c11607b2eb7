/**
 * A multi-round chat about one image. The image's CLIP and decoder features are computed once; each round runs only
 * its own tokens through LLaMA on top of the KV cache of the earlier rounds and decodes only its own `<seg>`
 * (the released CLI re-runs the whole conversation every round; `recomputeAll()` does that, and the tests prove both
 * give the same result). Each round's mask and box are encoded for later `[REF:k]`s.
 */
import type { Image8, Tokenizer, KVCache } from '@segllm/models';
import { hipiePreprocess, maskEncodeCrop, boxEncodeVector, resizeMask } from '@segllm/models';
import type { HipieInput } from '@segllm/models';
import type { Tensor } from '@segllm/tensor';
import { fromStorageArray, keep, noGrad, tensor, tidy } from '@segllm/tensor';
import { ContextLengthError, SegLLMError } from '../errors.ts';
import { layoutSlots, parseRound, renderConversation } from '../conversation/index.ts';
import type { RoundInput, Slot } from '../conversation/index.ts';
import type { SegLLMForSegmentation } from '../model/modeling.ts';
import type { DecoderFeatures, Detection } from '../model/decoder.ts';
import { imageSlots } from '../model/config.ts';
import { groundTruthBox, groundTruthMaskPixels } from '../train/encodings.ts';
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

/** A mask encoding and a box encoding for references, [D] each. */
interface Encoding {
  mask: Tensor;
  box: Tensor;
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
  /** Encodings of the masks given with this round (ground truth, training recipe). */
  given: Encoding[];
  /** Token count after this round. */
  length: number;
}

export interface HistoryEntry {
  round: number;
  text: string;
  refs: number[];
  /** Masks given with the round (their pixels are not recorded). */
  given: number;
  box: [number, number, number, number];
  score: number;
}

export interface AskOptions {
  /**
   * Masks given as references (ground truth, e.g. MRSeg's hard split "[IMAGE][ENCODE X] segment the other ..."):
   * row-major [height, width] at the image's own resolution, nonzero = inside. Each becomes a mask/box slot pair
   * before the text (after the image slots in round 1), encoded with the official training recipe.
   */
  given?: readonly Uint8Array[];
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
  #original: Image8;
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
    this.#original = image;
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

  /** Asks for a mask; `[REF:k]` tags refer to the output of round k, `opts.given` adds ground-truth references. */
  async ask(userText: string, opts: AskOptions = {}): Promise<RoundResult> {
    this.#assertOpen();
    const k = this.#rounds.length + 1;
    const given = opts.given ?? [];
    for (const g of given) this.#checkMask(g);
    const input: RoundInput = { ...parseRound(userText, k), ...(given.length > 0 ? { given: given.length } : {}) };
    const inputs = [...this.#rounds.map((r) => r.input), input];
    const { ids, newIds } = this.#tokenize(inputs);
    const m = this.ctx.model;
    const offset = this.#ids.length;
    const layout = layoutSlots(newIds, inputs, this.ctx.slotId, this.ctx.segId, imageSlots(m.config), k - 1, offset);
    const segPos = layout.segPositions[0];
    const pending: Encoding[] = [];
    let hidden: Tensor | null = null;
    try {
      for (const g of given) pending.push(this.#encodeGroundTruth(g));
      hidden = keep(
        noGrad(() =>
          tidy(() => {
            const [positions, rows] = this.#injections(layout.slots, offset, pending);
            const idsT = tensor(newIds, { dtype: 'int32', backend: this.#patches.backend }).reshape([1, newIds.length]);
            const embeds = m.embedChunk(idsT, positions, rows); // [1, T, D]
            const h = m.model.forward({ inputsEmbeds: embeds, cache: this.#cache }); // [1, T, D]
            return h.select(0, 0).select(0, segPos - 1 - offset).contiguous(); // [D]
          }),
        ),
      );
      const det = await this.#decode(hidden);
      const result = this.#result(k, input, det);
      const enc = this.#encodeForReference(det);
      this.#rounds.push({ userText, input, result, hidden, maskEncoding: enc.mask, boxEncoding: enc.box, given: pending, length: ids.length });
      this.#ids = ids;
      return result;
    } catch (e) {
      hidden?.dispose();
      for (const p of pending) for (const t of [p.mask, p.box]) t.dispose();
      this.#cache.truncate(offset);
      throw e;
    }
  }

  /**
   * Teacher forcing (`eval_use_gt_mask_encode`): replaces the last round's stored encodings by those of its
   * ground-truth mask (row-major [height, width] at the image's own resolution), encoded with the official training
   * recipe (original image, tight box with inclusive max; box from the mask in the padded frame), so later references
   * see the ground truth.
   */
  teacherForce(gtMask: Uint8Array): void {
    this.#assertOpen();
    const last = this.#rounds.at(-1);
    if (!last) throw new SegLLMError('no round to replace: ask() first');
    this.#checkMask(gtMask);
    const enc = this.#encodeGroundTruth(gtMask);
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
    for (const t of [last.hidden, last.maskEncoding, last.boxEncoding, ...last.given.flatMap((g) => [g.mask, g.box])]) t.dispose();
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
    return this.#rounds.map((r) => ({ round: r.result.round, text: r.userText, refs: r.input.refs, given: r.given.length, box: r.result.box, score: r.result.score }));
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

  /** Chunk-relative positions and rows to add for every slot; `pending`: the given encodings of a new round. */
  #injections(slots: Slot[], offset: number, pending: Encoding[] = []): [number[], Tensor[]] {
    const positions: number[] = [];
    const rows: Tensor[] = [];
    for (const s of slots) {
      positions.push(s.position - offset);
      if (s.kind === 'image') rows.push(this.#patches.select(0, s.patch));
      else if (s.kind === 'givenMask' || s.kind === 'givenBox') {
        const g = (s.round > this.#rounds.length ? pending : this.#rounds[s.round - 1].given)[s.index];
        rows.push(s.kind === 'givenMask' ? g.mask : g.box);
      } else {
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
  #encodeForReference(det: Detection): Encoding {
    const m = this.ctx.model;
    const S = m.config.hipie_image_size;
    const crop = maskEncodeCrop(this.#image.padded, { data: det.mask, shape: [S, S] }, det.box, m.config.vision.image_size);
    return this.#encode(crop.pixelValues.data, boxEncodeVector(crop.box, S));
  }

  /** The official training recipe on a ground-truth mask at the original resolution (shared with training samples). */
  #encodeGroundTruth(mask: Uint8Array): Encoding {
    const m = this.ctx.model;
    const S = m.config.hipie_image_size;
    const { width, height } = this.#original;
    const binary = mask.map((v) => (v !== 0 ? 1 : 0));
    const pixels = groundTruthMaskPixels(this.#original, binary, m.config.vision.image_size);
    const box = groundTruthBox(resizeMask({ width, height, channels: 1, data: binary }, S).data, S);
    return this.#encode(pixels, Float32Array.from(box));
  }

  /** CLIP pixels [3, N, N] -> mask encoding, box vector [4] -> box encoding ([D] each, scaled as at inference). */
  #encode(pixels: Float32Array, box: Float32Array): Encoding {
    const m = this.ctx.model;
    const n = m.config.vision.image_size;
    const backend = this.#patches.backend;
    return noGrad(() =>
      tidy(() => ({
        mask: keep(m.encodeMask(fromStorageArray(pixels, [1, 3, n, n], 'float32', { backend })).squeeze(0)),
        box: keep(m.encodeBox(fromStorageArray(box, [1, 4], 'float32', { backend })).squeeze(0)),
      })),
    );
  }

  #checkMask(mask: Uint8Array): void {
    const { width, height } = this;
    if (mask.length !== width * height) {
      throw new SegLLMError(`a given or ground-truth mask must be ${width}x${height} (the image's own resolution, row-major), got ${mask.length} values`);
    }
  }
}
