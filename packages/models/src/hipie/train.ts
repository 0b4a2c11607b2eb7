/**
 * The HIPIE decoder in training mode, as DDETRSegmUniDN.coco_forward runs it in SegLLM training (ddetrs_dn.py
 * 276-770, deformable_transformer_dino.py; segllm-reference.md 4-5 and goldens/hipie-loss/README.md).
 *
 * API:
 *   hipieForwardTrain(model, features, lang [N, T, Cl], dn?: { boxes, rng, boxNoiseScale? }, opts?: { dropoutRng })
 *     -> HipieTrainOutputs
 *     (also model.forwardTrain). features from model.encodeImage(images [N, 3, S, S]) outside noGrad, so gradients
 *     reach the backbone (FrozenBN stays frozen). lang: the un-fused phrase tokens. dn.boxes: per image its GT boxes
 *     (cxcywh in [0, 1], flat [T_b * 4] or a CPU tensor [T_b, 4]); the images may have different T_b.
 *   out.fg[l], l = 0..dec_layers-1 (last = the final layer), for the num_queries foreground queries (the background
 *     queries are left out: FINAL_BG_WEIGHT 0):
 *       logits [N, K, T] = class_embed[l](hs[l], fused lang); boxes [N, K, 4] = sigmoid(bbox_embed[l](hs[l]) +
 *       inverse_sigmoid(ref_l)) with ref_0 the two-stage reference and ref_l the undetached refined box of layer l-1
 *       (look forward twice; layer l itself ran on the detached one); iou [N, K, 1] = iou_head[l](hs[l]);
 *       maskParams [N, K, P] = controller(hs[l]); maskRef [N, K, 2] = sigmoid(inverse_sigmoid(ref_l))[:2] x (W, H).
 *   out.gt[l] (null without dn): the DN slots [N, D, .] (D = dn.slots; positives at [0, T_b), negatives at
 *       [maxT, maxT + T_b), the rest padding), same fields with iou null (no IoU loss in this branch). maskRef is
 *       inverse_sigmoid(ref_l)[:2], unscaled: upstream passes the logit-space reference to the mask head here.
 *   out.dn: { layout, matches } with matches[b] = compute_gt_indices (fixed (query, target) pairs per image).
 *   out.enc: { logits [N, S, 1], boxes [N, S, 4] } for every encoder token (S = sum H_l W_l; invalid proposals have
 *       box 1), as upstream hands them to the `_enc` loss (computed with the gt branch).
 *   maskLogits(out, 'fg' | 'gt', layer, b, queries) -> [M, S/4, S/4]: the CondInst head on image b's mask features
 *     for those queries (indices into the branch's query axis), in the order given.
 *   disposeTrainOutputs(out).
 *
 * Dropout: SegLLM's HIPIE config has DDETRS.DROPOUT 0.0 (encoder and decoder layers, decoder self-attention, DN
 * resizer): none. The one dropout of upstream training is the VL fusion's 0.1 on both attention-probability maps
 * (hard-coded in VLFuse): applied when model.training is true (Module default; call model.eval() for determinism),
 * drawn from opts.dropoutRng (default: the global generator). The inference decode never applies it.
 */
import { Dropout, indexSelect, tensor, tidy } from '@segllm/tensor';
import type { Generator, Tensor } from '@segllm/tensor';
import type { HipieConfig } from './config.ts';
import { inverseSigmoid } from './decoder.ts';
import type { DnLayout } from './dn.ts';
import { HipieDnError, dnAttentionMask, dnLayout, dnMatches, dnNoisedBoxes, dnReferences } from './dn.ts';
import type { StillClassifier, VLAlign } from './heads.ts';
import { dynamicMaskLogits, memoryLevels } from './mask-head.ts';
import type { HipieModel, ImageFeatures } from './model.ts';
import { VL_ATTN_DROPOUT } from './vl-fusion.ts';
import { HipieInputError } from './model.ts';
import type { DnQueries, TransformerOutput } from './transformer.ts';

/** What one branch predicts at one decoder layer. */
export interface HipieTrainLayer {
  /** Class logits against the fused tokens [N, Qb, T]. */
  logits: Tensor;
  /** Boxes cxcywh in (0, 1) [N, Qb, 4]. */
  boxes: Tensor;
  /** IoU logits [N, Qb, 1] (foreground branch only). */
  iou: Tensor | null;
  /** Dynamic mask parameters [N, Qb, P]. */
  maskParams: Tensor;
  /** Mask-head reference centres [N, Qb, 2] (see the header for the gt branch). */
  maskRef: Tensor;
}

export interface HipieTrainOutputs {
  fg: HipieTrainLayer[];
  gt: HipieTrainLayer[] | null;
  dn: { layout: DnLayout; matches: { query: number[]; target: number[] }[] } | null;
  enc: { logits: Tensor; boxes: Tensor };
  /** Mask features [N, Cm, H/8, W/8]. */
  maskFeats: Tensor;
  /** Fused phrase tokens [N, T, Cl]. */
  langFused: Tensor;
  imageSize: [number, number];
  config: HipieConfig;
}

export interface HipieDnInput {
  /** Per image, GT boxes cxcywh normalised: flat [T_b * 4] or a CPU tensor [T_b, 4]. */
  boxes: readonly (ArrayLike<number> | Tensor)[];
  rng: Generator;
  /** BOX_NOISE_SCALE (1.0 in SegLLM). */
  boxNoiseScale?: number;
}

export function disposeTrainOutputs(o: HipieTrainOutputs): void {
  for (const l of [...o.fg, ...(o.gt ?? [])]) for (const t of [l.logits, l.boxes, l.iou, l.maskParams, l.maskRef]) t?.dispose();
  for (const t of [o.enc.logits, o.enc.boxes, o.maskFeats, o.langFused]) t.dispose();
}

function boxArray(b: ArrayLike<number> | Tensor): ArrayLike<number> {
  if (typeof (b as Tensor).dataSync !== 'function') return b as ArrayLike<number>;
  const t = b as Tensor;
  if (t.rank !== 2 || t.shape[1] !== 4) throw new HipieDnError(`DN boxes must be [T, 4] per image, got [${t.shape.join(', ')}]`);
  return t.dataSync();
}

/** DN queries for the batch: content = resizer(mean of un-fused tokens) per image (0 on padding), noised refs, mask. */
function buildDn(model: HipieModel, lang: Tensor, dn: HipieDnInput, numMatching: number): { q: DnQueries; layout: DnLayout } {
  const N = lang.shape[0];
  if (!model.resizer) throw new HipieDnError('this HIPIE model has no DN label encoder (config dn_resizer: false): build it with dn_resizer: true and load a checkpoint that has `resizer.*`');
  if (dn.boxes.length !== N) throw new HipieDnError(`DN needs one box list per image: ${N} images, got ${dn.boxes.length}`);
  const boxes = dn.boxes.map(boxArray);
  boxes.forEach((b, i) => {
    if (b.length % 4 !== 0) throw new HipieDnError(`DN boxes of image ${i}: ${b.length} numbers is not a multiple of 4 (cx, cy, w, h)`);
  });
  const layout = dnLayout(boxes.map((b) => b.length / 4));
  const noised = dnNoisedBoxes(boxes, layout, dn.rng, dn.boxNoiseScale ?? 1.0);
  const embed = model.resizer.forward(lang.mean(1)); // [N, C]
  const present = tensor(Float32Array.from(noised.present), { shape: [N, layout.slots, 1], backend: lang.backend }).to(lang.dtype);
  const label = embed.unsqueeze(1).mul(present); // [N, D, C]
  const refs = dnReferences(noised, N, layout.slots, lang.dtype, lang.backend); // [N, D, 4]
  return { q: { label, refs, attnMask: dnAttentionMask(layout, numMatching, lang.backend) }, layout };
}

/** One branch's predictions at layer l for queries [q0, q0 + n). */
function branchLayer(model: HipieModel, t: TransformerOutput, l: number, q0: number, n: number, fg: boolean, imageSize: [number, number]): HipieTrainLayer {
  const d = model.detr;
  const h = t.hs[l].narrow(1, q0, n); // [N, n, C]
  const refIn = (l === 0 ? t.initReference : t.references[l - 1]).narrow(1, q0, n); // [N, n, 4], undetached
  const inv = inverseSigmoid(refIn);
  const logits = (d.class_embed[l] as VLAlign).forward(h, t.lang); // [N, n, T]
  const boxes = d.bbox_embed[l].forward(h).add(inv).sigmoid(); // [N, n, 4]
  const iou = fg ? d.iou_head[l].forward(h) : null; // [N, n, 1]
  const maskParams = model.controller.forward(h); // [N, n, P]
  const [H, W] = imageSize;
  const centre = fg ? inv.narrow(2, 0, 2).sigmoid() : inv.narrow(2, 0, 2); // [N, n, 2]
  const maskRef = fg ? centre.mul(tensor(Float32Array.from([W, H]), { shape: [2], backend: h.backend }).to(h.dtype)) : centre;
  return { logits, boxes, iou, maskParams, maskRef };
}

export interface HipieTrainOptions {
  /** Random source of the VL fusion's attention dropout (training mode only). */
  dropoutRng?: Generator;
}

export function hipieForwardTrain(model: HipieModel, features: ImageFeatures, lang: Tensor, dn: HipieDnInput | null = null, opts: HipieTrainOptions = {}): HipieTrainOutputs {
  const c = model.config;
  const N = features.srcs[0]?.shape[0] ?? 0;
  if (lang.rank !== 3 || lang.shape[0] !== N || lang.shape[2] !== c.lang_dim) {
    throw new HipieInputError(`forwardTrain expects phrase tokens [${N}, T, ${c.lang_dim}] (one set per image), got [${lang.shape.join(', ')}]`);
  }
  if (features.srcs.length !== 4 || features.srcs.some((s) => s.shape[0] !== N || s.shape[1] !== c.hidden_dim)) {
    throw new HipieInputError(`forwardTrain expects 4 projected levels [N, ${c.hidden_dim}, h, w], got ${features.srcs.map((s) => `[${s.shape.join(', ')}]`).join(' ')}`);
  }
  const dt = model.dtype;
  return tidy(() => {
    const srcs = features.srcs.map((s) => s.to(dt));
    const pos = features.pos.map((p) => p.to(dt));
    const l0 = lang.to(dt);
    const B = c.num_bg_queries;
    const K = c.num_queries;
    const built = dn ? buildDn(model, l0, dn, B + K) : null;
    const d = model.detr;
    const dropout = model.training ? new Dropout(VL_ATTN_DROPOUT, opts.dropoutRng) : null;
    const t = d.transformer.forward(srcs, pos, l0, d.class_embed[c.dec_layers] as StillClassifier, d.bbox_embed, { dn: built?.q ?? null, dropout });
    const D = built?.layout.slots ?? 0;
    const layers = Array.from({ length: c.dec_layers }, (_, l) => l);
    const fg = layers.map((l) => branchLayer(model, t, l, D + B, K, true, features.imageSize));
    const gt = built ? layers.map((l) => branchLayer(model, t, l, 0, D, false, features.imageSize)) : null;
    const shapes: [number, number][] = srcs.map((s) => [s.shape[2], s.shape[3]]);
    const [f8, f16, f32] = memoryLevels(t.memory, shapes, 3);
    const maskFeats = model.mask_head.forward([f8, f16, f32]); // [N, Cm, H/8, W/8]
    return {
      fg, gt, dn: built ? { layout: built.layout, matches: dnMatches(built.layout) } : null,
      enc: { logits: t.encClass, boxes: t.encCoordUnact.sigmoid() }, maskFeats, langFused: t.lang, imageSize: features.imageSize, config: c,
    };
  });
}

/** Mask logits [M, H/4, W/4] of image b for the given queries of a branch at one decoder layer. */
export function maskLogits(out: HipieTrainOutputs, branch: 'fg' | 'gt', layer: number, b: number, queries: readonly number[]): Tensor {
  const layers = branch === 'fg' ? out.fg : out.gt;
  if (!layers) throw new HipieInputError('maskLogits: this training forward ran without DN, so it has no gt branch');
  const L = layers[layer];
  if (!L) throw new HipieInputError(`maskLogits: layer ${layer} is out of range [0, ${layers.length})`);
  const [N, Qb] = L.maskParams.shape;
  if (!(b >= 0 && b < N)) throw new HipieInputError(`maskLogits: image ${b} is out of range [0, ${N})`);
  const bad = queries.find((q) => !(Number.isInteger(q) && q >= 0 && q < Qb));
  if (bad !== undefined) throw new HipieInputError(`maskLogits: query ${bad} is out of range [0, ${Qb}) of the ${branch} branch`);
  const [, , h, w] = out.maskFeats.shape;
  const M = queries.length;
  const s = 8 / out.config.mask_out_stride;
  if (M === 0) return tensor(new Float32Array(0), { shape: [0, h * s, w * s], backend: out.maskFeats.backend }).to(out.maskFeats.dtype);
  return tidy(() => {
    const idx = tensor(Int32Array.from(queries), { shape: [M], dtype: 'int32', backend: out.maskFeats.backend });
    const params = indexSelect(L.maskParams.select(0, b), 0, idx); // [M, P]
    const ref = indexSelect(L.maskRef.select(0, b), 0, idx); // [M, 2]
    const m = dynamicMaskLogits(out.maskFeats.narrow(0, b, 1), ref, params, out.config); // [M, 1, H/4, W/4]
    return m.reshape([M, m.shape[2], m.shape[3]]);
  });
}
