/**
 * One teacher-forced SegLLM training forward (segllm-reference.md 5.2; llava_llama.py forward + hipie_utils.py
 * segment_mask): the conversations of a batch run through LLaMA in one padded batch with their image, mask and box
 * encodings ADDED to the `<video>` embeddings; the text loss is the shifted cross-entropy over the supervised tokens
 * (lm_head only at those positions: with a 32k vocabulary the full logits would be most of the step); the hidden state
 * one position before each chosen `<seg>` goes through the predictor, and the mask decoder's loss on those phrases
 * (the caller's `segLoss`, HIPIE's criterion) is added with weight 1.
 */
import type { Tensor } from '@segllm/tensor';
import { cat, crossEntropy, indexSelect, noGrad, stack, tensor, tidy, zeros } from '@segllm/tensor';
import type { SegLLMForSegmentation } from '../model/modeling.ts';
import { imageSlots } from '../model/config.ts';

/** What one conversation contributes to a step (train/samples.ts builds these). */
export interface StepSample {
  /** [T] token ids (BOS first; image and reference slots are `<video>` ids). */
  ids: Int32Array;
  /** [T] labels, -100 where ignored. */
  labels: Int32Array;
  /** [3, R, R] CLIP input of the image (R = the tower's image_size, 224 in the release). */
  clipPixels: Float32Array;
  /** [3, S, S] normalised, padded decoder input. */
  hipiePixels: Float32Array;
  /** Position of the first image slot. */
  imageStart: number;
  /** Mask encodings: the masked crop's CLIP input [3, 224, 224], or null when the 0.5 dropout zeroed it. */
  maskSlots: readonly { position: number; pixels: Float32Array | null }[];
  /** Box encodings [y0, x0, y1, x1] / S, or null when zeroed. */
  boxSlots: readonly { position: number; box: readonly [number, number, number, number] | null }[];
  /** Every `<seg>`: its position in ids, target and reference masks [S * S] (padded frame), and whether the mask loss uses it. */
  segs: readonly { position: number; target: Uint8Array; reference: Uint8Array | null; lossMask: boolean }[];
}

/** A chosen `<seg>` of the batch, as the mask loss sees it. */
export interface SegTarget {
  /** Index of the conversation in the batch (its decoder image). */
  sample: number;
  target: Uint8Array;
  reference: Uint8Array | null;
}

/** The mask decoder's loss on the batch's chosen phrases: images [U, 3, S, S], phrases [M, 8, Cl], image index per phrase. */
export type SegLoss = (images: Tensor, phrases: Tensor, imageIndex: readonly number[], targets: readonly SegTarget[]) => Promise<{ total: Tensor; terms: Map<string, Tensor> }>;

export interface StepOptions {
  /** Run the CLIP tower with gradients (training from scratch); the release keeps it frozen. */
  trainVision?: boolean;
  /** The mask decoder's loss; without it only the text loss is computed. */
  segLoss?: SegLoss;
  /** Receives the wall time of 'vision' (CLIP + projector) and 'llm' (embeddings + LLaMA + text loss); see `timed`. */
  profile?: StepProfile;
}

/** A benchmark's hook: the milliseconds one part of a step took. */
export type StepProfile = (part: string, ms: number) => void;

/**
 * Runs `fn`; with a profile, waits for the backend's queued work before and after it so that the time reported for
 * `part` is the part's own (on WebGPU too). Without one, just runs `fn`.
 */
export async function timed<R>(profile: StepProfile | undefined, part: string, backend: Tensor['backend'], fn: () => R | Promise<R>): Promise<R> {
  if (!profile) return fn();
  await backend.sync?.();
  const t0 = performance.now();
  const r = await fn();
  await backend.sync?.();
  profile(part, performance.now() - t0);
  return r;
}

export interface StepOutput {
  /** text + segmentation loss (scalar), differentiable. */
  loss: Tensor;
  text: Tensor;
  seg: Tensor | null;
  /** Every loss term of the mask decoder (already weighted as in the total). */
  terms: Map<string, Tensor>;
  /** Supervised text tokens and decoded phrases in the step. */
  tokens: number;
  phrases: number;
}

export class TrainStepError extends Error {
  override readonly name = 'TrainStepError';
}

/** The teacher-forced forward of a batch and its loss. Tensors in the result are the caller's to dispose. */
export async function segllmTrainStep(model: SegLLMForSegmentation, batch: readonly StepSample[], o: StepOptions = {}): Promise<StepOutput> {
  if (batch.length === 0) throw new TrainStepError('a training step needs at least one conversation');
  const backend = model.lm_head.weight.backend;
  const B = batch.length;
  const T = Math.max(...batch.map((s) => s.ids.length));
  const D = model.config.llava.llm.hidden_size;
  const chosen = chosenSegs(batch, T);
  const withSeg = !!o.segLoss && chosen.rows.length > 0;
  const injected = await timed(o.profile, 'vision', backend, () => tidy(() => injections(model, batch, T, o.trainVision ?? false))); // [B, T, D]
  const fwd = await timed(o.profile, 'llm', backend, () => tidy(() => {
    const ids = new Int32Array(B * T); // right-padded with pad id 0: causal attention keeps pads out of earlier positions
    batch.forEach((s, b) => ids.set(s.ids, b * T));
    const embeds = model.model.embed_tokens.forward(tensor(ids, { dtype: 'int32', backend }).reshape([B, T])); // [B, T, D]
    const h = model.model.forward({ inputsEmbeds: embeds.add(injected) }).reshape([B * T, D]); // [B * T, D]
    const text = textLoss(model, h, batch, T);
    const phrases = withSeg ? model.predictPhrases(indexSelect(h, 0, tensor(chosen.rows, { dtype: 'int32', backend }))) : null; // [M, 8, Cl]
    return { ...text, phrases };
  }));
  injected.dispose();
  let seg: Tensor | null = null;
  let terms = new Map<string, Tensor>();
  if (withSeg && fwd.phrases) {
    const S = model.config.hipie_image_size;
    const used = [...new Set(chosen.targets.map((t) => t.sample))];
    const pix = new Float32Array(used.length * 3 * S * S);
    used.forEach((b, i) => pix.set(batch[b].hipiePixels, i * 3 * S * S));
    const images = tensor(pix, { backend }).reshape([used.length, 3, S, S]); // [U, 3, S, S]
    try {
      const r = await o.segLoss!(images, fwd.phrases, chosen.targets.map((t) => used.indexOf(t.sample)), chosen.targets);
      seg = r.total;
      terms = r.terms;
    } finally {
      images.dispose();
      fwd.phrases.dispose();
    }
  }
  const loss = tidy(() => (seg ? fwd.loss.add(seg) : fwd.loss.add(0)));
  return { loss, text: fwd.loss, seg, terms, tokens: fwd.tokens, phrases: chosen.rows.length };
}

/** The additive input rows [B, T, D]: image patches, mask and box encodings at their slots, zeros elsewhere. */
function injections(model: SegLLMForSegmentation, batch: readonly StepSample[], T: number, trainVision: boolean): Tensor {
  const backend = model.lm_head.weight.backend;
  const D = model.config.llava.llm.hidden_size;
  const N = imageSlots(model.config);
  const cfg = model.config.llava;
  const clipRun = <R>(fn: () => R): R => (trainVision ? fn() : noGrad(fn));
  const R = model.config.vision.image_size; // 224
  const clipIn = (arrs: readonly Float32Array[]) => {
    const x = new Float32Array(arrs.length * 3 * R * R);
    arrs.forEach((a, i) => {
      if (a.length !== 3 * R * R) throw new TrainStepError(`a CLIP input has ${a.length} values, expected 3 x ${R} x ${R}`);
      x.set(a, i * a.length);
    });
    return tensor(x, { backend }).reshape([arrs.length, 3, R, R]);
  };
  const patches = model.model.mm_projector.forward(clipRun(() => model.clip.features(clipIn(batch.map((s) => s.clipPixels)), { selectLayer: cfg.mm_vision_select_layer, selectFeature: 'patch' }))); // [B, N, D]
  const maskPix = batch.flatMap((s) => s.maskSlots.filter((m) => m.pixels).map((m) => m.pixels!));
  const masks = maskPix.length ? model.model.mm_projector.forward(clipRun(() => model.clip.features(clipIn(maskPix), { selectLayer: cfg.mm_vision_select_layer, selectFeature: 'cls' }))).reshape([maskPix.length, D]) : null; // [Km, D]
  const boxVals = batch.flatMap((s) => s.boxSlots.filter((m) => m.box).map((m) => [...m.box!]));
  const boxes = boxVals.length ? model.model.mask_enc_head.forward(tensor(boxVals.flat(), { backend }).reshape([boxVals.length, 4])) : null; // [Kb, D]
  let mi = 0;
  let bi = 0;
  const rows = batch.map((s, b) => {
    const blocks: { at: number; rows: Tensor }[] = [{ at: s.imageStart, rows: patches.select(0, b) }]; // [N, D]
    for (const m of s.maskSlots) if (m.pixels) blocks.push({ at: m.position, rows: masks!.narrow(0, mi++, 1) });
    for (const m of s.boxSlots) if (m.box) blocks.push({ at: m.position, rows: boxes!.narrow(0, bi++, 1) });
    return placeRows(blocks, T, D, N, backend);
  });
  return stack(rows, 0); // [B, T, D]
}

/** Rows placed at their positions in a [T, D] block of zeros (blocks must not overlap). */
function placeRows(blocks: { at: number; rows: Tensor }[], T: number, D: number, imageRows: number, backend: Tensor["backend"]): Tensor {
  const sorted = [...blocks].sort((a, b) => a.at - b.at);
  const parts: Tensor[] = [];
  let at = 0;
  for (const { at: p, rows } of sorted) {
    if (p < at) throw new TrainStepError(`injected rows overlap at position ${p} (image slots: ${imageRows})`);
    if (p > at) parts.push(zeros([p - at, D], { backend }));
    parts.push(rows);
    at = p + rows.shape[0];
  }
  if (at > T) throw new TrainStepError(`injected rows end at ${at}, past the sequence length ${T}`);
  if (at < T) parts.push(zeros([T - at, D], { backend }));
  return cat(parts, 0); // [T, D]
}

/** Shifted cross-entropy over the supervised tokens, with lm_head only at the positions that predict them. */
function textLoss(model: SegLLMForSegmentation, h: Tensor, batch: readonly StepSample[], T: number): { loss: Tensor; tokens: number } {
  const rows: number[] = [];
  const targets: number[] = [];
  batch.forEach((s, b) => {
    for (let t = 0; t + 1 < s.labels.length; t++) {
      const y = s.labels[t + 1];
      if (y === -100) continue;
      rows.push(b * T + t);
      targets.push(y);
    }
  });
  if (rows.length === 0) return { loss: zeros([], { backend: h.backend }), tokens: 0 }; // torch gives NaN; an all-ignored batch adds nothing here
  const logits = model.lm_head.forward(indexSelect(h, 0, tensor(rows, { dtype: 'int32', backend: h.backend }))); // [n, V]
  return { loss: crossEntropy(logits, tensor(targets, { dtype: 'int32', backend: h.backend })), tokens: rows.length };
}

/** Flat rows (b * T + position - 1) of the hidden states before the chosen `<seg>`s, and their targets. */
function chosenSegs(batch: readonly StepSample[], T: number): { rows: number[]; targets: SegTarget[] } {
  const rows: number[] = [];
  const targets: SegTarget[] = [];
  batch.forEach((s, b) => {
    for (const g of s.segs) {
      if (!g.lossMask) continue;
      if (g.position < 1) throw new TrainStepError(`a <seg> at position ${g.position} has no hidden state before it`);
      rows.push(b * T + g.position - 1);
      targets.push({ sample: b, target: g.target, reference: g.reference });
    }
  });
  return { rows, targets };
}
