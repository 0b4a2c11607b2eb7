/**
 * HIPIE's matchers (HungarianMatcherVL, matcher.py), host-side index bookkeeping in float32 rounding, no gradient:
 * - `simOtaMatch`: `forward_ota` for one image (compute_cost, get_in_boxes_info, dynamic_k_matching) with the
 *   upstream quirks kept: the re-fill loop resolves conflicts on the rows that conflicted before the loop;
 * - `hungarianMatch`: `forward(..., force_box_loss=True)` for the encoder proposals (cost 2 focal + 5 L1 - 2 GIoU,
 *   linear_sum_assignment per image).
 */
import { cxcywhToXyxyHost, pairwiseIouGiou } from './boxes.ts';
import { linearSumAssignment } from './lsap.ts';

const fr = Math.fround;

export interface Match {
  /** Matched queries, ascending. */
  query: number[];
  /** The target of each matched query. */
  target: number[];
}

export interface OtaMatch extends Match {
  /** [Q, T] cost before the assignment. */
  cost: Float32Array;
  /** [Q, T] torchvision box_iou. */
  ious: Float32Array;
  /** [Q] centre inside some GT box or some GT centre square. */
  fgMask: Uint8Array;
  /** [Q, T] centre inside that GT box and its centre square. */
  inBoxesAndCenter: Uint8Array;
  /** [T] queries each target takes in step 2. */
  dynamicK: number[];
  /** [T] lowest-cost matched query per target (upstream's second output, unused). */
  bestQuery: number[];
}

/** One image's predictions on the host: logits [Q, K] (row-major), boxes [Q, 4] cxcywh. */
export interface HostPrediction {
  logits: ArrayLike<number>;
  boxes: ArrayLike<number>;
  queries: number;
  tokens: number;
}

/** One image's targets on the host: boxes [T, 4] cxcywh, positive map [T][K]. */
export interface HostTargets {
  boxes: ArrayLike<number>;
  positiveMap: readonly (readonly number[])[];
}

/** compute_cost_label_vl: mean over the target's positive tokens of the focal pos - neg cost, [Q, T]. */
export function focalClassCost(p: HostPrediction, positiveMap: HostTargets['positiveMap']): Float32Array {
  const { queries: Q, tokens: K } = p;
  const T = positiveMap.length;
  const perToken = new Float32Array(Q * K);
  for (let i = 0; i < Q * K; i++) {
    const pr = fr(1 / (1 + Math.exp(-p.logits[i])));
    const neg = fr(fr(0.75 * fr(pr * pr)) * fr(-Math.log(fr(fr(1 - pr) + 1e-8))));
    const q1 = fr(1 - pr);
    const pos = fr(fr(0.25 * fr(q1 * q1)) * fr(-Math.log(fr(pr + 1e-8))));
    perToken[i] = fr(pos - neg);
  }
  const out = new Float32Array(Q * T);
  for (let t = 0; t < T; t++) {
    const toks = positiveMap[t].flatMap((v, k) => (v ? [k] : []));
    for (let q = 0; q < Q; q++) {
      let s = 0;
      for (const k of toks) s = fr(s + perToken[q * K + k]);
      out[q * T + t] = toks.length ? fr(s / toks.length) : NaN;
    }
  }
  return out;
}

/** get_in_boxes_info with expanded stride 32: [fg [Q], inBoxesAndCenter [Q, T]]. */
export function inBoxesInfo(boxes: ArrayLike<number>, gt: ArrayLike<number>): [Uint8Array, Uint8Array] {
  const Q = boxes.length / 4;
  const T = gt.length / 4;
  const gx = cxcywhToXyxyHost(gt);
  const r = 2.5 / 32;
  const fg = new Uint8Array(Q);
  const both = new Uint8Array(Q * T);
  for (let q = 0; q < Q; q++) {
    const cx = boxes[4 * q];
    const cy = boxes[4 * q + 1];
    for (let t = 0; t < T; t++) {
      const inBox = cx > gx[4 * t] && cx < gx[4 * t + 2] && cy > gx[4 * t + 1] && cy < gx[4 * t + 3];
      const inCtr = cx > fr(gt[4 * t] - r) && cx < fr(gt[4 * t] + r) && cy > fr(gt[4 * t + 1] - r) && cy < fr(gt[4 * t + 1] + r);
      if (inBox || inCtr) fg[q] = 1;
      both[q * T + t] = inBox && inCtr ? 1 : 0;
    }
  }
  return [fg, both];
}

/** Indices 0..n-1 ordered by key (ascending, or descending), ties by index. */
function order(n: number, key: (i: number) => number, descending = false): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return idx.sort((a, b) => (descending ? key(b) - key(a) : key(a) - key(b)) || a - b);
}

function argminOf(n: number, key: (i: number) => number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (key(i) < key(best)) best = i;
  return best;
}

/** SimOTA (`forward_ota`) for one image with at least one target. */
export function simOtaMatch(p: HostPrediction, tg: HostTargets): OtaMatch {
  const Q = p.queries;
  const T = tg.positiveMap.length;
  const [fgMask, inBoxesAndCenter] = inBoxesInfo(p.boxes, tg.boxes);
  const { iou: ious, giou } = pairwiseIouGiou(cxcywhToXyxyHost(p.boxes), cxcywhToXyxyHost(tg.boxes));
  const cls = focalClassCost(p, tg.positiveMap);
  const cost = new Float32Array(Q * T);
  for (let i = 0; i < Q * T; i++) {
    cost[i] = fr(fr(cls[i] + fr(3 * -giou[i])) + (inBoxesAndCenter[i] ? 0 : 100));
    if (!fgMask[Math.floor(i / T)]) cost[i] = fr(cost[i] + 10000);
  }
  const dynamicK = Array.from({ length: T }, (_, t) => {
    const top = order(Q, (q) => ious[q * T + t], true).slice(0, Math.min(Q, 10));
    let s = 0;
    for (const q of top) s = fr(s + ious[q * T + t]);
    return Math.max(1, Math.trunc(s));
  });
  const { query, target, bestQuery } = dynamicKMatching(Float32Array.from(cost), Q, T, dynamicK);
  return { query, target, cost, ious, fgMask, inBoxesAndCenter, dynamicK, bestQuery };
}

/** dynamic_k_matching on a copy of the cost (it is modified as upstream does). */
function dynamicKMatching(cost: Float32Array, Q: number, T: number, k: number[]): Match & { bestQuery: number[] } {
  const m = new Uint8Array(Q * T);
  const rowSum = (q: number) => m.subarray(q * T, q * T + T).reduce((a, b) => a + b, 0);
  const colSum = (t: number) => Array.from({ length: Q }, (_, q) => m[q * T + t]).reduce((a, b) => a + b, 0);
  for (let t = 0; t < T; t++) for (const q of order(Q, (i) => cost[i * T + t]).slice(0, k[t])) m[q * T + t] = 1;
  const stale = Array.from({ length: Q }, (_, q) => rowSum(q) > 1); // anchor_matching_gt > 1, never recomputed
  const resolve = () => {
    for (let q = 0; q < Q; q++) {
      if (!stale[q]) continue;
      const best = argminOf(T, (t) => cost[q * T + t]);
      m.fill(0, q * T, q * T + T);
      m[q * T + best] = 1;
    }
  };
  if (stale.some(Boolean)) resolve();
  while (Array.from({ length: T }, (_, t) => colSum(t)).some((s) => s === 0)) {
    const empty = Array.from({ length: T }, (_, t) => t).filter((t) => colSum(t) === 0);
    for (let q = 0; q < Q; q++) if (rowSum(q) > 0) for (let t = 0; t < T; t++) cost[q * T + t] = fr(cost[q * T + t] + 100000);
    for (const t of empty) m[argminOf(Q, (q) => cost[q * T + t]) * T + t] = 1;
    if (Array.from({ length: Q }, (_, q) => rowSum(q)).some((s) => s > 1)) resolve();
  }
  const query: number[] = [];
  const target: number[] = [];
  for (let q = 0; q < Q; q++) {
    if (rowSum(q) === 0) continue;
    query.push(q);
    target.push(argminOf(T, (t) => -m[q * T + t]));
  }
  const bestQuery = Array.from({ length: T }, (_, t) => argminOf(Q, (q) => (m[q * T + t] ? cost[q * T + t] : Infinity)));
  return { query, target, bestQuery };
}

/**
 * The encoder's Hungarian matching for one image (targets binary: every positive map is [1]): cost
 * 5 L1 + 2 focal - 2 GIoU over [N, T], solved like scipy. Returns the pairs sorted by query.
 */
export function hungarianMatch(p: HostPrediction, gtBoxes: ArrayLike<number>): Match & { cost: Float32Array } {
  const N = p.queries;
  const T = gtBoxes.length / 4;
  const cls = focalClassCost(p, Array.from({ length: T }, () => Array.from({ length: p.tokens }, () => 1)));
  const { giou } = pairwiseIouGiou(cxcywhToXyxyHost(p.boxes), cxcywhToXyxyHost(gtBoxes));
  const cost = new Float32Array(N * T);
  for (let q = 0; q < N; q++) {
    for (let t = 0; t < T; t++) {
      let l1 = 0;
      for (let c = 0; c < 4; c++) l1 = fr(l1 + Math.abs(fr(p.boxes[4 * q + c] - gtBoxes[4 * t + c])));
      const i = q * T + t;
      cost[i] = fr(fr(fr(5 * l1) + fr(2 * cls[i])) + fr(2 * -giou[i]));
    }
  }
  const { rows, cols } = linearSumAssignment(cost, N, T);
  return { query: rows, target: cols, cost };
}
