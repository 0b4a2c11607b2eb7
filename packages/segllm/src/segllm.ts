/**
 * The user-facing model: `SegLLM.load(dir)` or `new SegLLM(model, tokenizer)`, then `model.chat(image)` for a
 * multi-round session, or `segmentConversation` for batch evaluation.
 */
import type { Image8, RgbaPixels, Tokenizer } from '@segllm/models';
import { clipPreprocess, decodeImage, decodeImageSource, imageFromRgba, readImageFile } from '@segllm/models';
import { fromStorageArray } from '@segllm/tensor';
import { SegLLMError } from './errors.ts';
import type { SegLLMForSegmentation } from './model/modeling.ts';
import { ChatSession } from './session/chat.ts';
import type { RoundResult } from './session/chat.ts';
import type { CheckpointSource } from './files.ts';
import type { SegLLMLoadOptions } from './checkpoint.ts';

/** Anything with `arrayBuffer()`: a Blob or File. */
export interface BlobLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A browser image source (ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, VideoFrame...). */
export type DrawableImage = { readonly width: number; readonly height: number } | { readonly displayWidth: number };

/**
 * An image: decoded RGB (Image8), RGBA pixels (ImageData), encoded PNG/JPEG bytes or a Blob/File, a browser image
 * source, or a file path (Node).
 */
export type ImageInput = Image8 | RgbaPixels | Uint8Array | ArrayBuffer | BlobLike | DrawableImage | string;

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
  #disposed = false;
  readonly #sessions = new Set<WeakRef<ChatSession>>();

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

  /** Opens a chat about an image (see ImageInput). Sessions still open are disposed with the model. */
  async chat(image: ImageInput): Promise<ChatSession> {
    if (this.#disposed) throw new SegLLMError('this model was disposed: load it again');
    const img = await toImage(image);
    const v = this.model.config.vision;
    const px = clipPreprocess(img, { size: v.image_size });
    const backend = this.model.lm_head.weight.backend;
    const pixels = fromStorageArray(px.data, [1, ...px.shape], 'float32', { backend });
    try {
      const session = new ChatSession({ model: this.model, tokenizer: this.tokenizer, slotId: this.slotId, segId: this.segId }, img, pixels);
      this.#sessions.add(new WeakRef(session));
      return session;
    } finally {
      pixels.dispose();
    }
  }

  /** The backend the weights live on ('webgpu', 'cpu-wasm' or 'cpu'). */
  get device(): string {
    return this.model.lm_head.weight.backend.name;
  }

  /** Frees the weights (and every chat session still open); the model cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const ref of this.#sessions) ref.deref()?.dispose();
    this.#sessions.clear();
    this.model.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
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
  if (image instanceof ArrayBuffer) return decodeImage(new Uint8Array(image));
  if ('channels' in image && 'data' in image) return image;
  if ('data' in image) return imageFromRgba(image); // ImageData
  if ('arrayBuffer' in image && typeof image.arrayBuffer === 'function') return decodeImage(new Uint8Array(await image.arrayBuffer()));
  return decodeImageSource(image as unknown as ImageBitmapSource);
}
