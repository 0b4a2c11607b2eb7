/**
 * The user-facing model: `SegLLM.load(dir)` or `new SegLLM(model, tokenizer)`, then `model.chat(image)` for a
 * multi-round session, or `segmentConversation` for batch evaluation.
 */
import type { Image8, Tokenizer } from '@segllm/models';
import { clipPreprocess, decodeImage, readImageFile } from '@segllm/models';
import { fromStorageArray } from '@segllm/tensor';
import { SegLLMError } from './errors.ts';
import type { SegLLMForSegmentation } from './model/modeling.ts';
import { ChatSession } from './session/chat.ts';
import type { RoundResult } from './session/chat.ts';
import type { CheckpointSource } from './files.ts';
import type { SegLLMLoadOptions } from './checkpoint.ts';

export type ImageInput = Image8 | Uint8Array | string;

/**
 * One round for batch evaluation: the user text (with `[REF:k]` tags), masks given as references, and, for teacher
 * forcing, the ground truth. Masks are row-major [height, width] at the image's own resolution (nonzero = inside).
 */
export interface EvalRound {
  text: string;
  /** Ground-truth references given with the round (MRSeg's hard split: round 1 "[IMAGE][ENCODE X] ..."). */
  given?: readonly Uint8Array[];
  /** This round's ground-truth mask, encoded for later references when teacher-forcing. */
  gtMask?: Uint8Array;
}

export class SegLLM {
  readonly slotId: number;
  readonly segId: number;

  constructor(
    readonly model: SegLLMForSegmentation,
    readonly tokenizer: Tokenizer,
  ) {
    const t = model.templateFor();
    const slot = tokenizer.tokenToId(t.slotToken);
    const seg = tokenizer.tokenToId(t.segToken);
    if (slot === undefined || seg === undefined) {
      throw new SegLLMError("the tokenizer has no '<video>' or '<seg>' token: use the tokenizer.json of a SegLLM checkpoint");
    }
    this.slotId = slot;
    this.segId = seg;
  }

  /** Loads a release-layout checkpoint (folder, URL or file map); see loadSegLLM for the options. */
  static async load(source: CheckpointSource, opts: SegLLMLoadOptions = {}): Promise<SegLLM> {
    const { loadSegLLM } = await import('./checkpoint.ts');
    return (await loadSegLLM(source, opts)).model;
  }

  /** Opens a chat about an image (decoded Image8, encoded PNG/JPEG bytes, or a file path in Node). */
  async chat(image: ImageInput): Promise<ChatSession> {
    const img = await toImage(image);
    const v = this.model.config.vision;
    const px = clipPreprocess(img, { size: v.image_size });
    const backend = this.model.lm_head.weight.backend;
    const pixels = fromStorageArray(px.data, [1, ...px.shape], 'float32', { backend });
    try {
      return new ChatSession({ model: this.model, tokenizer: this.tokenizer, slotId: this.slotId, segId: this.segId }, img, pixels);
    } finally {
      pixels.dispose();
    }
  }

  /**
   * Runs a whole conversation. `references: 'predicted'` (autoregressive) refers to the model's own earlier masks;
   * 'groundTruth' (teacher forcing, the official `eval_use_gt_mask_encode`) replaces each round's stored encoding by
   * one computed from its ground truth with the training recipe. Given masks are always ground-truth encodings.
   */
  async segmentConversation(image: ImageInput, rounds: readonly EvalRound[], opts: { references?: 'predicted' | 'groundTruth' } = {}): Promise<RoundResult[]> {
    const session = await this.chat(image);
    try {
      const out: RoundResult[] = [];
      for (const r of rounds) {
        out.push(await session.ask(r.text, { given: r.given }));
        if (opts.references === 'groundTruth') {
          if (!r.gtMask) throw new SegLLMError(`round ${out.length} has no gtMask: teacher forcing needs every round's ground-truth mask`);
          session.teacherForce(r.gtMask);
        }
      }
      return out;
    } finally {
      session.dispose();
    }
  }
}

async function toImage(image: ImageInput): Promise<Image8> {
  if (typeof image === 'string') return readImageFile(image);
  if (image instanceof Uint8Array) return decodeImage(image);
  return image;
}
