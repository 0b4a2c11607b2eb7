/**
 * Losses with PyTorch semantics (composites wrapped in tidy; binary cross-entropy with logits has its own backward
 * rule so the gradient is exactly sigmoid(x) - t, also at x = 0):
 * crossEntropy, binaryCrossEntropyWithLogits, sigmoidFocalLoss (torchvision), diceLoss (LISA/SegLLM), l1Loss,
 * smoothL1Loss.
 */
import { record } from '../../autograd/engine.ts';
import { noGrad } from '../../autograd/engine.ts';
import { isFloat } from '../../dtype.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, broadcastShapes, fmtShape, shapesEqual } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { arange } from '../../tensor.ts';
import { where } from '../elementwise/elementwise.ts';
import { logSoftmax } from '../softmax/softmax.ts';
import { gather } from '../indexing/gather.ts';
import { indexSelect } from '../indexing/index-select.ts';
import { sumTo } from '../reduce/reduce.ts';

export type Reduction = 'none' | 'mean' | 'sum';

export class LossError extends Error {
  override name = 'LossError';
}

function checkReduction(r: string): void {
  if (r !== 'none' && r !== 'mean' && r !== 'sum') throw new LossError(`unknown reduction '${r}': use 'none', 'mean' or 'sum'`);
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'mean') return loss.mean();
  throw new LossError(`unknown reduction '${String(reduction)}': use 'none', 'mean' or 'sum'`);
}

export interface CrossEntropyOptions {
  /** Target value whose positions contribute nothing (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** Mixes the target with the uniform distribution: (1 - s) * nll + s * mean over classes of -log p. */
  labelSmoothing?: number;
  /** Per-class weights [C]; 'mean' divides by the summed weights of the non-ignored targets. */
  weight?: Tensor;
}

/**
 * torch.nn.functional.cross_entropy. logits [N, C] or [N, C, d1, ...] (or [C]); target int32 class indices
 * [N] / [N, d1, ...] (or a float distribution shaped like logits).
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new LossError(`labelSmoothing must be in [0, 1], got ${eps}`);
  checkReduction(reduction);
  if (logits.rank < 1) throw new ShapeError('crossEntropy needs logits of rank >= 1 ([C], [N, C] or [N, C, ...])');
  return tidy(() => {
    const unbatched = logits.rank === 1;
    const x = unbatched ? logits.unsqueeze(0) : logits;
    const C = x.shape[1];
    const perm = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1];
    const lsm = logSoftmax(x.permute(perm).reshape([x.numel / Math.max(C, 1), C]), -1); // [M, C]
    if (isFloat(target.dtype)) {
      if (!shapesEqual(target.shape, logits.shape)) throw new ShapeError(`crossEntropy with class probabilities needs target ${fmtShape(target.shape)} shaped like logits ${fmtShape(logits.shape)}`);
      const tt = unbatched ? target.unsqueeze(0) : target;
      let p = tt.permute(perm).reshape(lsm.shape); // [M, C]
      if (eps > 0) p = p.mul(1 - eps).add(eps / C);
      let terms = lsm.mul(p);
      if (opts.weight) terms = terms.mul(opts.weight);
      const l = terms.sum(-1).neg(); // [M]
      const out = reduction === 'none' ? l.reshape(unbatched ? [] : [x.shape[0], ...x.shape.slice(2)]) : reduction === 'sum' ? l.sum() : l.sum().div(Math.max(1, x.numel / C));
      return out;
    }
    if (target.dtype !== 'int32' && target.dtype !== 'uint8') throw new LossError(`crossEntropy target must be int32 class indices or float probabilities, got ${target.dtype}`);
    const tShape = unbatched ? [1] : [x.shape[0], ...x.shape.slice(2)];
    if (!shapesEqual(unbatched ? [1, ...target.shape] : target.shape, tShape)) {
      throw new ShapeError(`crossEntropy: target ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)} (expected ${fmtShape(unbatched ? [] : tShape)})`);
    }
    const t = target.reshape([lsm.shape[0]]); // [M]
    const valid = t.ne(ignore); // [M] bool
    const safe = where(valid, t, 0); // [M] int32
    // log p[target]: gather where the backend has it, else a one-hot selection.
    const picked = lsm.backend.supports('gather', lsm.dtype)
      ? gather(lsm, 1, safe.unsqueeze(1)).squeeze(1) // [M]
      : where(safe.unsqueeze(1).eq(arange(C, undefined, 1, { backend: lsm.backend })), lsm, 0).sum(-1); // [M]
    let w = valid.to(lsm.dtype); // [M]
    if (opts.weight) w = w.mul(indexSelect(opts.weight, 0, safe));
    let l = picked.neg().mul(w); // [M]
    if (eps > 0) {
      const all = opts.weight ? lsm.mul(opts.weight) : lsm;
      const smooth = all.sum(-1).neg().mul(valid.to(lsm.dtype)); // [M]
      l = l.mul(1 - eps).add(smooth.mul(eps / C));
    }
    if (reduction === 'none') return l.reshape(unbatched ? [] : tShape);
    if (reduction === 'sum') return l.sum();
    return l.sum().div(w.sum());
  });
}

/** softplus(-x) = log(1 + exp(-x)), stable: log1p(exp(-|x|)) + relu(-x). */
function softplusNeg(x: Tensor): Tensor {
  return x.abs().neg().exp().log1p().add(x.neg().relu());
}

export interface BceOptions {
  reduction?: Reduction;
  /** Weight of the positive term, broadcast against the last dims (torch's pos_weight). */
  posWeight?: Tensor;
  /** Per-element rescaling weight, broadcast to the input. */
  weight?: Tensor;
}

/**
 * torch.nn.functional.binary_cross_entropy_with_logits, stable form:
 *   l = (1 - t) x + (1 + (pw - 1) t) softplus(-x), times weight. Gradient to logits: ((1 + (pw-1) t) sigmoid(x) - pw t) w
 * (sigmoid(x) - t without pos_weight); to target: (-x + (pw - 1) softplus(-x)) w.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  if (!shapesEqual(logits.shape, target.shape)) throw new ShapeError(`binaryCrossEntropyWithLogits: target ${fmtShape(target.shape)} must have the logits' shape ${fmtShape(logits.shape)}`);
  for (const [n, t] of [['posWeight', opts.posWeight], ['weight', opts.weight]] as const) {
    if (t && !shapesEqual(broadcastShapes(t.shape, logits.shape), logits.shape)) throw new ShapeError(`binaryCrossEntropyWithLogits: ${n} ${fmtShape(t.shape)} does not broadcast to ${fmtShape(logits.shape)}`);
  }
  const pw = opts.posWeight;
  const w = opts.weight;
  return tidy(() => {
    const tf = target.dtype === logits.dtype ? target : target.to(logits.dtype);
    const elem = noGrad(() => {
      const sp = softplusNeg(logits);
      const lw = pw ? tf.mul(pw.sub(1)).add(1) : null;
      let l = tf.neg().add(1).mul(logits).add(lw ? lw.mul(sp) : sp);
      if (w) l = l.mul(w);
      return l;
    }); // [...x]
    const targetGrad = tf.requiresGrad;
    const out = record(
      'bce_with_logits',
      [logits, tf],
      elem,
      (g, { inputs: [x, t], saved }) => {
        const pwS = pw ? saved[0] : null;
        const wS = w ? saved[pw ? 1 : 0] : null;
        const gw = wS ? g.mul(wS) : g;
        const sig = x.sigmoid();
        const gx = pwS ? t.mul(pwS.sub(1)).add(1).mul(sig).sub(t.mul(pwS)) : sig.sub(t);
        if (!targetGrad) return [sumTo(gx.mul(gw), x.shape), null];
        const gt = pwS ? x.neg().add(softplusNeg(x).mul(pwS.sub(1))) : x.neg();
        return [sumTo(gx.mul(gw), x.shape), sumTo(gt.mul(gw), t.shape)];
      },
      { saved: [pw, w].filter((v): v is Tensor => !!v) },
    );
    return reduce(out, opts.reduction ?? 'mean');
  });
}

/**
 * torchvision.ops.sigmoid_focal_loss: ce * (1 - p_t)^gamma, times alpha_t = alpha t + (1 - alpha)(1 - t) when
 * alpha >= 0, where p = sigmoid(x), p_t = p t + (1 - p)(1 - t). Default reduction 'none' as torchvision.
 */
export function sigmoidFocalLoss(logits: Tensor, target: Tensor, opts: { alpha?: number; gamma?: number; reduction?: Reduction } = {}): Tensor {
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  return tidy(() => {
    const t = target.dtype === logits.dtype ? target : target.to(logits.dtype);
    const p = logits.sigmoid();
    const ce = binaryCrossEntropyWithLogits(logits, t, { reduction: 'none' });
    const pT = p.mul(t).add(p.neg().add(1).mul(t.neg().add(1)));
    let loss = ce.mul(pT.neg().add(1).pow(gamma));
    if (alpha >= 0) loss = loss.mul(t.mul(alpha).add(t.neg().add(1).mul(1 - alpha)));
    return reduce(loss, opts.reduction ?? 'none');
  });
}

/**
 * Dice loss per mask (LISA/SegLLM): masks are flattened after the first dim,
 *   1 - (2 sum(s t) / scale + smooth) / (sum(s) / scale + sum(t) / scale + smooth),  s = sigmoid(logits).
 * Defaults smooth = 1, scale = 1 (the golden's form); LISA's training code uses scale 1000, smooth 1e-6 and
 * divides the sum by the number of masks ('mean'). Default reduction 'none': one value per mask.
 */
export function diceLoss(logits: Tensor, target: Tensor, opts: { smooth?: number; scale?: number; reduction?: Reduction } = {}): Tensor {
  if (logits.rank < 1 || !shapesEqual(logits.shape, target.shape)) throw new ShapeError(`diceLoss: logits ${fmtShape(logits.shape)} and target ${fmtShape(target.shape)} must have the same shape [masks, ...]`);
  const smooth = opts.smooth ?? 1;
  const scale = opts.scale ?? 1;
  return tidy(() => {
    const n = logits.shape[0];
    const s = logits.sigmoid().reshape([n, logits.numel / Math.max(n, 1)]); // [n, P]
    const t = (target.dtype === logits.dtype ? target : target.to(logits.dtype)).reshape(s.shape); // [n, P]
    const num = s.mul(t).sum(-1).mul(2 / scale).add(smooth); // [n]
    const den = s.sum(-1).div(scale).add(t.sum(-1).div(scale)).add(smooth); // [n]
    return reduce(num.div(den).neg().add(1), opts.reduction ?? 'none');
  });
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  return tidy(() => reduce(input.sub(target).abs(), opts.reduction ?? 'mean'));
}

/** torch smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta 0 is L1). */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { beta?: number; reduction?: Reduction } = {}): Tensor {
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new LossError(`smoothL1Loss: beta must be >= 0, got ${beta}`);
  return tidy(() => {
    const d = input.sub(target);
    const a = d.abs();
    const l = beta === 0 ? a : where(a.lt(beta), d.square().mul(0.5 / beta), a.sub(0.5 * beta));
    return reduce(l, opts.reduction ?? 'mean');
  });
}
