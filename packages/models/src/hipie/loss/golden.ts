/**
 * Replays a HIPIE loss golden file (make_hipie_loss.py layout, any sizes) through this port and lists what to compare:
 * matcher indices and intermediates, every loss term, every gradient. Used by the parity tests and by
 * `npm run golden -w @segllm/core -- hipie-loss <file>`. Cases: `<c>.pred_logits` marks a single-layer case,
 * `<c>.fg.0.pred_logits` a deep one (fg layers, DN "gt" branch, encoder, seg tokens).
 */
import { fromStorageArray } from '@segllm/tensor';
import type { RawTensor, Tensor, TensorStore } from '@segllm/tensor';
import { hipieLoss, type BranchPredictions, type HipieLossResult, type LayerPrediction } from './criterion.ts';
import { simOtaMatch } from './matcher.ts';
import { IMPORTANCE_SAMPLE_RATIO, pointSample, selectUncertain, targetMaskStride4 } from './points.ts';
import { targetBoxes, type HipieTarget } from './targets.ts';

export interface LossComparison {
  name: string;
  actual: ArrayLike<number>;
  expected: ArrayLike<number>;
  /** exact: indices and masks; close: |a - e| <= atol + rtol |e|. */
  kind: 'exact' | 'close';
  rtol: number;
  atol: number;
}

/**
 * Tolerances [rtol, atol]: matcher floats 1e-5, losses 1e-5 relative; gradients 1e-4 and point values 1e-5 relative
 * with atol that fraction of the tensor's largest magnitude (elements near zero carry the rounding of the large ones:
 * a bilinear sample differs by about one float32 step of its coordinate times the slope).
 */
type Tol = readonly [number, number, 'scaled'?];
const TOL: Record<'match' | 'loss' | 'grad' | 'points', Tol> = { match: [1e-5, 1e-5], loss: [1e-5, 1e-7], grad: [1e-4, 1e-4, 'scaled'], points: [1e-5, 1e-5, 'scaled'] };

export function hipieLossCaseNames(keys: readonly string[]): string[] {
  const names = new Set<string>();
  for (const k of keys) {
    const m = /^([^.]+)\.(pred_logits|fg\.0\.pred_logits)$/.exec(k);
    if (m) names.add(m[1]);
  }
  return [...names];
}

class Case {
  readonly out: LossComparison[] = [];
  readonly leaves = new Map<string, Tensor>();
  constructor(readonly store: TensorStore, readonly name: string, readonly backend: string) {}

  raw(key: string): Promise<RawTensor> {
    return this.store.read(`${this.name}.${key}`);
  }
  has(key: string): boolean {
    return this.store.has(`${this.name}.${key}`);
  }
  async leaf(key: string): Promise<Tensor> {
    const r = await this.raw(key);
    const t = fromStorageArray(r.data, r.shape, 'float32', { backend: this.backend, requiresGrad: true });
    this.leaves.set(key, t);
    return t;
  }
  push(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, kind: 'exact' | 'close', tol: Tol = TOL.loss): void {
    let scale = 0;
    for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
    const atol = kind === 'exact' ? 0 : tol[2] ? tol[1] * scale : tol[1];
    this.out.push({ name: `${this.name}.${name}`, actual: Array.from(actual), expected: Array.from(expected), kind, rtol: kind === 'exact' ? 0 : tol[0], atol });
  }
  async expect(name: string, actual: ArrayLike<number>, kind: 'exact' | 'close', tol?: Tol): Promise<void> {
    this.push(name, actual, (await this.raw(name)).data, kind, tol);
  }

  async targets(): Promise<HipieTarget[]> {
    const out: HipieTarget[] = [];
    for (let b = 0; this.has(`target.${b}.masks`); b++) {
      const m = await this.raw(`target.${b}.masks`);
      const pm = await this.raw(`target.${b}.positive_map`);
      const [T, S] = m.shape;
      const K = pm.shape[1];
      const t: HipieTarget = { masks: m.data as Uint8Array, numInstances: T, size: S, positiveMap: Array.from({ length: T }, (_, i) => Array.from(pm.data.subarray(i * K, (i + 1) * K), Number)) };
      await this.expect(`target.${b}.boxes`, targetBoxes(t), 'close', TOL.match);
      out.push(t);
    }
    return out;
  }

  /** Mask function over the rows of `masks`, image b starting after the earlier images' golden match counts. */
  async maskFn(masks: Tensor, matchPrefix: string, B: number): Promise<(b: number, q: readonly number[]) => Tensor> {
    const starts = [0];
    for (let b = 0; b < B; b++) starts.push(starts[b] + (await this.raw(`${matchPrefix}.${b}.query`)).shape[0]);
    return (b, q) => masks.slice(0, starts[b], starts[b] + q.length);
  }
  /** Points of each layer key for image b: rows of the stored points after the earlier images' golden match counts. */
  async pointsFn(layers: readonly { key: string; points: string; matches: string }[], B: number): Promise<(key: string, b: number) => Tensor> {
    const stored = new Map<string, { data: Float32Array; P: number; starts: number[] }>();
    for (const { key, points, matches } of layers) {
      const p = await this.raw(points);
      const starts = [0];
      for (let b = 0; b < B; b++) starts.push(starts[b] + (await this.raw(`${matches}.${b}.query`)).shape[0]);
      stored.set(key, { data: p.data as Float32Array, P: p.shape[1], starts });
    }
    return (key, b) => {
      const { data, P, starts } = stored.get(key)!;
      return fromStorageArray(data.slice(starts[b] * P * 2, starts[b + 1] * P * 2), [starts[b + 1] - starts[b], P, 2], 'float32', { backend: this.backend });
    };
  }

  async compareLosses(prefix: string, terms: Map<string, Tensor>): Promise<void> {
    for (const [k, v] of terms) if (this.has(`${prefix}${k}`)) await this.expect(`${prefix}${k}`, await v.data(), 'close');
  }
  async compareGrads(): Promise<void> {
    for (const [k, t] of this.leaves) {
      const g = t.grad;
      await this.expect(`grad.${k}`, g ? await g.data() : new Float32Array(t.numel), 'close', TOL.grad);
    }
  }
  dispose(): void {
    for (const t of this.leaves.values()) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

/** The SimOTA intermediates of one single-layer case, image b, from the stored inputs. */
async function compareOta(c: Case, b: number, tg: HipieTarget): Promise<void> {
  const lg = await c.raw('pred_logits');
  const bx = await c.raw('pred_boxes');
  const [, Q, K] = lg.shape;
  const m = simOtaMatch(
    { logits: lg.data.subarray(b * Q * K, (b + 1) * Q * K), boxes: bx.data.subarray(b * Q * 4, (b + 1) * Q * 4), queries: Q, tokens: K },
    { boxes: targetBoxes(tg), positiveMap: tg.positiveMap },
  );
  const p = `match.${b}`;
  await c.expect(`${p}.query`, m.query, 'exact');
  await c.expect(`${p}.target`, m.target, 'exact');
  await c.expect(`${p}.dynamic_k`, m.dynamicK, 'exact');
  await c.expect(`${p}.best_query`, m.bestQuery, 'exact');
  await c.expect(`${p}.fg_mask`, m.fgMask, 'exact');
  await c.expect(`${p}.in_boxes_and_center`, m.inBoxesAndCenter, 'exact');
  await c.expect(`${p}.cost`, m.cost, 'close', TOL.match);
  await c.expect(`${p}.ious`, m.ious, 'close', TOL.match);
}

/** Points [k, 2] sorted by (x, y), to compare selections as sets. */
function sortedPairs(a: ArrayLike<number>, k: number): number[] {
  const pairs = Array.from({ length: k }, (_, i) => [a[2 * i], a[2 * i + 1]]);
  return pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]).flat();
}

/** single's extras: the uncertainty selection from the stored candidates (as a set), stride-4 targets, point values. */
async function pointExtras(c: Case, masks: Tensor, targets: readonly HipieTarget[]): Promise<void> {
  if (!c.has('points.candidates')) return;
  const cand = await c.raw('points.candidates');
  const pts = await c.raw('points');
  const [M, P] = pts.shape;
  const k = Math.trunc(IMPORTANCE_SAMPLE_RATIO * P);
  const first = masks.slice(0, 0, 1);
  const sel = await selectUncertain(first, cand.data as Float32Array, k);
  first.dispose();
  c.push('points.selected_as_set', sortedPairs(sel, k), sortedPairs(pts.data.subarray(0, 2 * k), k), 'exact');
  const n = masks.shape[1];
  const host = new Float32Array(M * n * n);
  let r = 0;
  for (let b = 0; b < targets.length; b++) {
    const S = targets[b].size;
    for (const t of (await c.raw(`match.${b}.target`)).data) host.set(targetMaskStride4(targets[b].masks, t * S * S, S), n * n * r++);
  }
  await c.expect('target_masks_stride4', host, 'exact');
  const p = fromStorageArray(pts.data, pts.shape, 'float32', { backend: c.backend });
  const tm = fromStorageArray(host, [M, n, n], 'float32', { backend: c.backend });
  const labels = pointSample(tm, p);
  const md = masks.detach();
  const logits = pointSample(md, p);
  await c.expect('point_labels', await labels.data(), 'close', TOL.points);
  await c.expect('point_logits', await logits.data(), 'close', TOL.points);
  for (const t of [p, tm, md, labels, logits]) t.dispose();
}

async function runSingle(c: Case): Promise<void> {
  const targets = await c.targets();
  for (let b = 0; b < targets.length; b++) await compareOta(c, b, targets[b]);
  const layer: LayerPrediction = { logits: await c.leaf('pred_logits'), boxes: await c.leaf('pred_boxes'), iou: await c.leaf('pred_boxious') };
  const masks = await c.leaf('pred_masks');
  const fg: BranchPredictions = { layers: [layer], masks: [await c.maskFn(masks, 'match', targets.length)] };
  const points = await c.pointsFn([{ key: 'fg.0', points: 'points', matches: 'match' }], targets.length);
  const res = await hipieLoss({ targets, fg, points: (_k, b) => points('fg.0', b) });
  await c.compareLosses('loss.', res.raw.fg);
  await c.expect('loss.total', await res.total.data(), 'close');
  res.total.backward();
  await c.compareGrads();
  await pointExtras(c, masks, targets);
  disposeResult(res);
}

async function runDeep(c: Case): Promise<void> {
  const targets = await c.targets();
  const B = targets.length;
  const layers = async (br: 'fg' | 'gt') => {
    const out: { layers: LayerPrediction[]; masks: ((b: number, q: readonly number[]) => Tensor)[] } = { layers: [], masks: [] };
    for (let l = 0; c.has(`${br}.${l}.pred_logits`); l++) {
      const iou = c.has(`${br}.${l}.pred_boxious`) ? await c.leaf(`${br}.${l}.pred_boxious`) : undefined;
      out.layers.push({ logits: await c.leaf(`${br}.${l}.pred_logits`), boxes: await c.leaf(`${br}.${l}.pred_boxes`), iou });
      out.masks.push(await c.maskFn(await c.leaf(`${br}.${l}.pred_masks`), br === 'fg' ? `fg.${l}.match` : 'gt.match', B));
    }
    return out;
  };
  const fg = await layers('fg');
  const gt = await layers('gt');
  const maxT = (await c.raw('gt.0.pred_logits')).shape[1] / 2;
  const enc = { logits: await c.leaf('enc.pred_logits'), boxes: await c.leaf('enc.pred_boxes') };
  const segTokens = await c.leaf('seg_tokens');
  const keys = [...fg.layers.map((_, l) => `fg.${l}`), ...gt.layers.map((_, l) => `gt.${l}`)];
  const points = await c.pointsFn(keys.map((key) => ({ key, points: `${key}.points`, matches: key.startsWith('fg') ? `${key}.match` : 'gt.match' })), B);
  const res = await hipieLoss({ targets, fg, gt: { ...gt, maxT }, enc, segTokens, points });
  for (let l = 0; l < fg.layers.length; l++) {
    for (let b = 0; b < B; b++) {
      await c.expect(`fg.${l}.match.${b}.query`, res.matches.fg[l][b].query, 'exact');
      await c.expect(`fg.${l}.match.${b}.target`, res.matches.fg[l][b].target, 'exact');
    }
  }
  for (let b = 0; b < B; b++) {
    for (const [br, m] of [['gt', res.matches.gt], ['enc', res.matches.enc]] as const) {
      await c.expect(`${br}.match.${b}.query`, m![b].query, 'exact');
      await c.expect(`${br}.match.${b}.target`, m![b].target, 'exact');
    }
  }
  await c.compareLosses('raw.fg.', res.raw.fg);
  await c.compareLosses('raw.gt.', res.raw.gt!);
  await c.compareLosses('loss.', res.terms);
  await c.expect('loss.total_hipie', await res.total.data(), 'close');
  res.total.backward();
  await c.compareGrads();
  disposeResult(res);
}

function disposeResult(res: HipieLossResult): void {
  const all = new Set<Tensor>([res.total, ...res.terms.values(), ...res.raw.fg.values(), ...(res.raw.gt?.values() ?? [])]);
  for (const t of all) t.dispose();
}

/** Runs one case on `backend` and returns its comparisons (throws if the case cannot run at all). */
export async function runHipieLossCase(store: TensorStore, name: string, backend: string): Promise<LossComparison[]> {
  const c = new Case(store, name, backend);
  try {
    if (store.has(`${name}.pred_logits`)) await runSingle(c);
    else await runDeep(c);
  } finally {
    c.dispose();
  }
  return c.out;
}

/** Max errors and pass/fail of one comparison. */
export function judgeLossComparison(c: LossComparison): { maxAbsErr: number; maxRelErr: number; pass: boolean } {
  if (c.actual.length !== c.expected.length) return { maxAbsErr: Infinity, maxRelErr: Infinity, pass: false };
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let pass = true;
  for (let i = 0; i < c.actual.length; i++) {
    const d = Math.abs(c.actual[i] - c.expected[i]);
    if (!(d <= c.atol + c.rtol * Math.abs(c.expected[i]))) pass = false;
    maxAbsErr = Math.max(maxAbsErr, d);
    if (d > 0) maxRelErr = Math.max(maxRelErr, d / Math.max(Math.abs(c.expected[i]), 1e-12));
  }
  return { maxAbsErr, maxRelErr, pass };
}


