/**
 * SegLLM's mask-decoder loss (hipie_utils.py segment_mask, training branch): the backbone runs once per image of the
 * batch and its features are indexed per chosen `<seg>`; each `<seg>` is one HIPIE "image" whose instances are
 * [reference, target] (or [target]); the training forward (foreground queries per layer, the DN "gt" branch with
 * noised ground-truth boxes, the encoder proposals) feeds HIPIE's criterion (SimOTA per layer, focal + L1 + GIoU +
 * box IoU + point-sampled focal/Dice masks, aux, `_enc`, DN, the weight dict, 1e-3 mean(phrase^2)).
 */
import type { Generator, Tensor } from '@segllm/tensor';
import { indexSelect, tensor, tidy } from '@segllm/tensor';
import { disposeTrainOutputs, hipieForwardTrain, hipieLoss, maskLogits, segllmTarget, targetBoxes } from '@segllm/models';
import type { HipieModel, HipieTarget, HipieTrainLayer } from '@segllm/models';
import type { SegLLMForSegmentation } from '../model/modeling.ts';
import { HipieDecoder } from '../model/hipie.ts';
import type { SegLoss, SegTarget, StepProfile } from './step.ts';
import { TrainStepError, timed } from './step.ts';

export interface HipieSegLossOptions {
  /** Mask-loss points per instance (upstream 12544 = 112^2; fewer for small decoder frames). */
  numPoints?: number;
  /** Give the reference mask no target (tokens 0-3 untrained): the "no reference-mask loss" ablation. */
  noReferenceLoss?: boolean;
  /** Run the DN "gt" branch (upstream: yes). */
  dn?: boolean;
  /** Receives the wall time of 'decoder' (HIPIE's training forward) and 'loss' (matching + criterion). */
  profile?: StepProfile;
}

/** The HIPIE criterion on a SegLLM model's decoder, drawing DN noise and mask points from `rng`. */
export function hipieSegLoss(model: SegLLMForSegmentation, rng: Generator, o: HipieSegLossOptions = {}): SegLoss {
  const dec = model.decoder;
  if (!(dec instanceof HipieDecoder)) throw new TrainStepError('training needs the HIPIE mask decoder (model.segmentator.hipie)');
  const detr: HipieModel = dec.detr;
  const S = model.config.hipie_image_size;
  return async (images: Tensor, phrases: Tensor, imageIndex: readonly number[], segs: readonly SegTarget[]) => {
    const targets: HipieTarget[] = segs.map((t) => segllmTarget(t.target, o.noReferenceLoss ? null : t.reference, S));
    const out = await timed(o.profile, 'decoder', images.backend, () => tidy(() => {
      const f = detr.encodeImage(images); // levels [U, C, h, w]
      const idx = tensor(Int32Array.from(imageIndex), { dtype: 'int32', backend: images.backend });
      const M = imageIndex.length;
      const srcs = f.srcs.map((t) => indexSelect(t, 0, idx)); // [M, C, h, w]
      const pos = f.pos.map((p) => p.expand([M, ...p.shape.slice(1)])); // the same for every image: [1, C, h, w] -> [M, C, h, w]
      const features = { srcs, pos, imageSize: f.imageSize };
      const dn = o.dn === false ? null : { boxes: targets.map((t) => targetBoxes(t)), rng };
      return hipieForwardTrain(detr, features, phrases, dn); // phrases [M, 8, Cl]
    }));
    try {
      const branch = (layers: HipieTrainLayer[], name: 'fg' | 'gt') => ({
        layers: layers.map((l) => ({ logits: l.logits, boxes: l.boxes, ...(l.iou ? { iou: l.iou } : {}) })),
        masks: layers.map((_, l) => (b: number, q: readonly number[]) => maskLogits(out, name, l, b, q)),
      });
      const r = await timed(o.profile, 'loss', images.backend, () => hipieLoss({
        targets, fg: branch(out.fg, 'fg'), gt: out.gt && out.dn ? { ...branch(out.gt, 'gt'), maxT: out.dn.layout.maxT } : undefined,
        enc: out.enc, segTokens: phrases, rng: () => rng.random(), numPoints: o.numPoints,
      }));
      disposeRaw(r.raw, new Set([r.total, ...r.terms.values()]));
      return { total: r.total, terms: r.terms };
    } finally {
      disposeTrainOutputs(out);
    }
  };
}

/** Drops the unweighted per-branch terms, except any that the weighted terms or the total are. */
function disposeRaw(raw: { fg: Map<string, Tensor>; gt?: Map<string, Tensor> }, keep: Set<Tensor>): void {
  for (const m of [raw.fg, raw.gt]) for (const t of m?.values() ?? []) if (!keep.has(t)) t.dispose();
}
