/**
 * SegLLM's HIPIE training loss: DINOCriterion / SetCriterion.forward per branch (deformable_detr.py), merged like
 * DDETRSegmUniDN.coco_forward (merge_dict with branch weights) and weighted like hipie_utils.py:
 * - fg branch: every decoder layer matched by SimOTA on its own predictions; keys of the final layer unsuffixed, aux
 *   layer i suffixed `_i`; the zero DN placeholders loss_{bbox,giou,class}_dn (and `_i`), as SegLLM never fills them;
 * - gt (DN) branch: fixed matches (slot i -> target i), no IoU loss; plus the encoder proposals (`_enc`, Hungarian);
 * - terms = merged[k] * weight[k] (keys not in the weight dict count with 1); total = sum + 1e-3 mean(seg_tokens^2).
 * Matching and point sampling read tensors back (async), then the terms are one synchronous differentiable graph.
 */
import { cat, fromStorageArray, tidy, zeros } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { hungarianMatch, simOtaMatch, type Match } from './matcher.ts';
import { NUM_POINTS, targetMaskStride4, uncertainPoints } from './points.ts';
import { checkTarget, HipieTargetError, targetBoxes, type HipieTarget } from './targets.ts';
import { lossBoxes, lossLabelsVL, lossMasks } from './terms.ts';

export interface LayerPrediction {
  /** [B, Q, T] token logits. */
  logits: Tensor;
  /** [B, Q, 4] cxcywh in (0, 1). */
  boxes: Tensor;
  /** [B, Q, 1] IoU-head logits (fg branch only). */
  iou?: Tensor;
}
/**
 * Mask logits at stride 4 for the given queries of image b: [M, S/4, S/4] (the caller runs the dynamic mask head).
 * The loss owns the returned tensor (it disposes it once the loss graph is built; autograd keeps what it needs).
 */
export type MaskLogitsFn = (b: number, queries: readonly number[]) => Tensor;
export interface BranchPredictions {
  /** Aux layers first, final last. */
  layers: LayerPrediction[];
  /** One per layer. */
  masks: MaskLogitsFn[];
}
export interface HipieLossInput {
  /** One per image of the batch. */
  targets: HipieTarget[];
  /** The foreground queries, matched by SimOTA per layer. */
  fg: BranchPredictions;
  /** The DN branch: slots [0, maxT) are positive copies, matched slot i -> target i. */
  gt?: BranchPredictions & { maxT: number };
  /** Encoder proposals [B, N, 1] / [B, N, 4], Hungarian-matched; counted in the gt branch (in fg when there is none). */
  enc?: { logits: Tensor; boxes: Tensor };
  /** [B, 8, 768] for the 1e-3 * mean(x^2) regulariser. */
  segTokens?: Tensor;
  /** Uniform [0, 1) for point sampling (default Math.random). */
  rng?: () => number;
  /**
   * Given points [M_b, P, 2] per layer ('fg.<l>' / 'gt.<l>', l counted from the first aux layer) and image, for the
   * image's matched queries, instead of sampling (tests). When any image with matches gets null, the layer is sampled.
   * The loss owns the returned tensors.
   */
  points?: (layerKey: string, b: number, queries: readonly number[]) => Tensor | null;
  /** Default 12544 (oversample 3, importance 0.75, as upstream). */
  numPoints?: number;
  /** FINAL_FG_WEIGHT / FINAL_GT_WEIGHT of merge_dict (default 1, 1). */
  branchWeights?: { fg: number; gt: number };
}
export interface HipieLossResult {
  total: Tensor;
  /** Merged and weighted terms by key. */
  terms: Map<string, Tensor>;
  /** Unweighted criterion outputs per branch. */
  raw: { fg: Map<string, Tensor>; gt?: Map<string, Tensor> };
  /** fg: [layer (aux first, final last)][image]; gt: the fixed matches; enc: the Hungarian ones. */
  matches: { fg: Match[][]; gt?: Match[]; enc?: Match[] };
}

/** HIPIE_IMG's weight dict (ce 2, bbox 5, giou 2, mask 5, dice 5; DN ce/bbox/giou; aux `_i`; `_enc`). */
export function hipieWeightDict(decLayers: number): Map<string, number> {
  const base: [string, number][] = [['loss_ce', 2], ['loss_bbox', 5], ['loss_giou', 2], ['loss_mask', 5], ['loss_dice', 5]];
  const dn: [string, number][] = [['loss_ce_dn', 2], ['loss_bbox_dn', 5], ['loss_giou_dn', 2]];
  const wd = new Map<string, number>([...base, ...dn]);
  for (let i = 0; i < decLayers - 1; i++) for (const [k, w] of [...base, ...dn]) wd.set(`${k}_${i}`, w);
  for (const [k, w] of base) wd.set(`${k}_enc`, w);
  return wd;
}

interface HostTarget {
  boxes: Float32Array;
  positiveMap: number[][];
}

/** One layer, ready for the synchronous loss graph. */
interface LayerPlan {
  layer: number;
  suffix: string;
  pred: LayerPrediction;
  matches: Match[];
  masks: Tensor | null; // [M, h, w]
  targetMasks: Tensor | null;
  points: Tensor | null;
}

async function otaMatches(pred: LayerPrediction, tg: readonly HostTarget[]): Promise<Match[]> {
  const [, Q, K] = pred.logits.shape;
  const [lg, bx] = await Promise.all([pred.logits.data(), pred.boxes.data()]);
  return tg.map((t, b) => {
    if (t.positiveMap.length === 0) return { query: [], target: [] };
    const p = { logits: lg.subarray(b * Q * K, (b + 1) * Q * K), boxes: bx.subarray(b * Q * 4, (b + 1) * Q * 4), queries: Q, tokens: K };
    const m = simOtaMatch(p, { boxes: t.boxes, positiveMap: t.positiveMap });
    return { query: m.query, target: m.target };
  });
}

async function encMatches(enc: NonNullable<HipieLossInput['enc']>, tg: readonly HostTarget[]): Promise<Match[]> {
  const [, N] = enc.logits.shape;
  const [lg, bx] = await Promise.all([enc.logits.data(), enc.boxes.data()]);
  return tg.map((t, b) => {
    const p = { logits: lg.subarray(b * N, (b + 1) * N), boxes: bx.subarray(b * N * 4, (b + 1) * N * 4), queries: N, tokens: 1 };
    const m = hungarianMatch(p, t.boxes);
    return { query: m.query, target: m.target };
  });
}

function checkShape(name: string, t: Tensor, want: (number | null)[]): void {
  if (t.rank !== want.length || want.some((w, i) => w !== null && t.shape[i] !== w)) {
    throw new HipieTargetError(`${name}: shape [${t.shape.join(', ')}] does not fit [${want.map((w) => w ?? '*').join(', ')}]`);
  }
}

/** Mask logits, stride-4 targets and points of one layer's matches (async: point sampling reads the logits). */
async function maskPlan(x: HipieLossInput, key: string, fn: MaskLogitsFn, matches: Match[]): Promise<Pick<LayerPlan, 'masks' | 'targetMasks' | 'points'>> {
  const M = matches.reduce((a, m) => a + m.query.length, 0);
  if (M === 0) return { masks: null, targetMasks: null, points: null };
  const per = matches.flatMap((m, b) => (m.query.length ? [fn(b, m.query)] : []));
  const masks = per.length === 1 ? per[0] : cat(per, 0);
  if (per.length > 1) per.forEach((t) => t.dispose());
  const S = x.targets[0].size;
  const n = Math.ceil(S / 32) * 8;
  checkShape(`mask logits of ${key}`, masks, [M, n, n]);
  const host = new Float32Array(M * n * n);
  let r = 0;
  matches.forEach((m, b) => m.target.forEach((t) => host.set(targetMaskStride4(x.targets[b].masks, t * S * S, S), n * n * r++)));
  const targetMasks = fromStorageArray(host, [M, n, n], 'float32', { backend: masks.backend });
  const given = x.points ? matches.map((m, b) => (m.query.length ? x.points!(key, b, m.query) : null)) : [];
  const ps = given.filter((p): p is Tensor => p !== null);
  given.forEach((p, b) => p && checkShape(`points of ${key}, image ${b}`, p, [matches[b].query.length, null, 2]));
  let points: Tensor;
  if (given.length && matches.every((m, b) => !m.query.length || given[b])) {
    points = ps.length === 1 ? ps[0] : cat(ps, 0);
    if (ps.length > 1) ps.forEach((p) => p.dispose());
  } else {
    ps.forEach((p) => p.dispose());
    points = await uncertainPoints(masks, x.rng ?? Math.random, x.numPoints ?? NUM_POINTS);
  }
  return { masks, targetMasks, points };
}

/** Appends one plan per layer (final first, then aux 0.., the criterion's order) to `plans`, which the caller disposes. */
async function branchPlans(x: HipieLossInput, kind: 'fg' | 'gt', br: BranchPredictions, tg: readonly HostTarget[], plans: LayerPlan[]): Promise<void> {
  const L = br.layers.length;
  if (br.masks.length !== L) throw new HipieTargetError(`${kind}: ${br.masks.length} mask functions for ${L} layers`);
  const fixed: Match[] = tg.map((t) => ({ query: t.positiveMap.map((_, i) => i), target: t.positiveMap.map((_, i) => i) }));
  for (const l of [L - 1, ...Array.from({ length: L - 1 }, (_, i) => i)]) {
    const pred = br.layers[l];
    const [B, Q, K] = pred.logits.shape;
    checkShape(`${kind}.${l}.logits`, pred.logits, [tg.length, null, null]);
    checkShape(`${kind}.${l}.boxes`, pred.boxes, [B, Q, 4]);
    if (pred.iou) checkShape(`${kind}.${l}.iou`, pred.iou, [B, Q, 1]);
    if (tg.some((t) => t.positiveMap.some((p) => p.length !== K))) throw new HipieTargetError(`${kind}.${l}: positive maps must have ${K} tokens (the logits' last dim)`);
    const matches = kind === 'fg' ? await otaMatches(pred, tg) : fixed;
    plans.push({ layer: l, suffix: l === L - 1 ? '' : `_${l}`, pred, matches, ...(await maskPlan(x, `${kind}.${l}`, br.masks[l], matches)) });
  }
}

function layerTerms(p: LayerPlan, tg: readonly HostTarget[], withIou: boolean, out: Map<string, Tensor>): void {
  const put = (m: Map<string, Tensor>) => m.forEach((v, k) => out.set(k + p.suffix, v));
  put(new Map([['loss_ce', lossLabelsVL(p.pred.logits, p.matches, tg.map((t) => t.positiveMap))]]));
  put(lossBoxes(p.pred.boxes, withIou ? p.pred.iou : undefined, p.matches, tg.map((t) => t.boxes)));
  if (p.masks && p.targetMasks && p.points) put(lossMasks(p.masks, p.targetMasks, p.points));
  else for (const k of ['loss_mask', 'loss_dice']) out.set(k + p.suffix, zeros([], { backend: p.pred.logits.backend, dtype: p.pred.logits.dtype }));
}

function dnPlaceholders(aux: number, like: Tensor, out: Map<string, Tensor>): void {
  for (const s of ['', ...Array.from({ length: aux }, (_, i) => `_${i}`)]) {
    for (const k of ['loss_bbox_dn', 'loss_giou_dn', 'loss_class_dn']) out.set(k + s, zeros([], { backend: like.backend, dtype: like.dtype }));
  }
}

/** SegLLM's HIPIE loss (see the file comment). Async: the matchers and the point sampler read tensors back. */
export async function hipieLoss(x: HipieLossInput): Promise<HipieLossResult> {
  x.targets.forEach(checkTarget);
  if (x.targets.some((t) => t.size !== x.targets[0].size)) throw new HipieTargetError('every target of a batch must have the same size');
  const tg: HostTarget[] = x.targets.map((t) => ({ boxes: targetBoxes(t), positiveMap: t.positiveMap }));
  if (x.gt && x.targets.some((t) => t.numInstances > x.gt!.maxT)) throw new HipieTargetError(`gt branch: an image has more targets than maxT = ${x.gt.maxT}`);
  const fgPlans: LayerPlan[] = [];
  const gtPlans: LayerPlan[] | null = x.gt ? [] : null;
  const binary = tg.map((t) => ({ boxes: t.boxes, positiveMap: t.positiveMap.map(() => [1]) }));
  try {
    await branchPlans(x, 'fg', x.fg, tg, fgPlans);
    if (x.gt && gtPlans) await branchPlans(x, 'gt', x.gt, tg, gtPlans);
    const enc = x.enc ? await encMatches(x.enc, tg) : undefined;
    return tidy(() => {
      const branch = (plans: LayerPlan[], withIou: boolean, withEnc: boolean) => {
        const out = new Map<string, Tensor>();
        for (const p of plans) layerTerms(p, tg, withIou, out);
        if (withEnc && x.enc && enc) {
          out.set('loss_ce_enc', lossLabelsVL(x.enc.logits, enc, binary.map((t) => t.positiveMap)));
          lossBoxes(x.enc.boxes, undefined, enc, binary.map((t) => t.boxes)).forEach((v, k) => out.set(`${k}_enc`, v));
        }
        dnPlaceholders(plans.length - 1, plans[0].pred.logits, out);
        return out;
      };
      const fg = branch(fgPlans, true, !gtPlans);
      const gt = gtPlans ? branch(gtPlans, false, true) : undefined;
      const terms = weightTerms(x, fg, gt);
      let total = [...terms.values()].reduce((a, v) => a.add(v));
      if (x.segTokens) total = total.add(x.segTokens.square().mean().mul(1e-3));
      return { total, terms, raw: { fg, gt }, matches: { fg: [...fgPlans].sort((a, b) => a.layer - b.layer).map((p) => p.matches), gt: gtPlans?.[0].matches, enc } };
    });
  } finally {
    for (const p of [...fgPlans, ...(gtPlans ?? [])]) for (const t of [p.masks, p.targetMasks, p.points]) t?.dispose();
  }
}

/** merge_dict([fg, gt], [w_fg, w_gt]), then each key in the weight dict times its weight. */
function weightTerms(x: HipieLossInput, fg: Map<string, Tensor>, gt: Map<string, Tensor> | undefined): Map<string, Tensor> {
  const bw = x.branchWeights ?? { fg: 1, gt: 1 };
  const merged = new Map<string, Tensor>();
  for (const [d, w] of [[fg, bw.fg], [gt, bw.gt]] as const) {
    if (!d) continue;
    d.forEach((v, k) => {
      const vw = v.mul(w);
      const prev = merged.get(k);
      merged.set(k, prev ? prev.add(vw) : vw);
    });
  }
  const wd = hipieWeightDict(x.fg.layers.length);
  const out = new Map<string, Tensor>();
  merged.forEach((v, k) => out.set(k, wd.has(k) ? v.mul(wd.get(k)!) : v));
  return out;
}
