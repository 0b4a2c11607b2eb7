/**
 * DINO contrastive denoising ("DN") queries as HIPIE builds them for SegLLM training (DDETRSegmUniDN.prepare_for_cdn,
 * compute_gt_indices and FeatureResizer in uninext-segm/projects/HIPIE/hipie/models/ddetrs_dn.py; DN_NUMBER 1,
 * BOX_NOISE_SCALE 1.0, DYNAMIC_LABEL_ENC True, DROPOUT 0.0 in SegLLM's r50.yaml).
 *
 * - groups = max(1, (2 * DN_NUMBER) // (2 * maxT)) = 1 for SegLLM; each group has 2 * maxT slots: the positive copies
 *   of image b's GT boxes at slots [0, T_b), the negative copies at [maxT, maxT + T_b); the other slots are padding
 *   (zero content, reference sigmoid(0) = 0.5).
 * - Box noise on (x1, y1, x2, y2): + sign * u * (w/2, h/2, w/2, h/2) * scale with sign = +-1, u ~ U[0, 1) for positives
 *   and U[1, 2) for negatives, clamped to [0, 1], then back to cxcywh; the reference is sigmoid(inverse_sigmoid(box)).
 *   Upstream draws with torch's RNG; here a Generator draws, per slot and coordinate, the sign then u.
 * - Content: the same label embedding for every DN query of an image, resizer(mean of its un-fused phrase tokens).
 * - Self-attention mask (true = may not attend): matching queries may not see DN slots; a group may not see another.
 */
import { tensor, tidy } from '@segllm/tensor';
import type { Backend, DType, Generator, Tensor } from '@segllm/tensor';
import { LayerNorm, Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';

/** FeatureResizer: Linear -> LayerNorm (eps 1e-12) -> dropout (DDETRS.DROPOUT = 0.0 in SegLLM: none). Keys fc, layer_norm. */
export class FeatureResizer extends Module {
  fc: Linear;
  layer_norm: LayerNorm;
  constructor(inDim: number, outDim: number, opts: InitOptions = {}) {
    super();
    this.fc = new Linear(inDim, outDim, opts);
    this.layer_norm = new LayerNorm(outDim, 1e-12, opts);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.layer_norm.forward(this.fc.forward(x)));
  }
}

/** Bad DN targets. */
export class HipieDnError extends Error {
  override readonly name = 'HipieDnError';
}

/** The layout of the DN slots of a batch. */
export interface DnLayout {
  /** Largest GT count of the batch. */
  maxT: number;
  /** DN groups (1 for SegLLM). */
  groups: number;
  /** Slots per group (2 maxT; upstream's dn_meta.single_padding). */
  groupSize: number;
  /** All DN slots (groups x groupSize). */
  slots: number;
  /** GT count per image. */
  counts: number[];
}

export function dnLayout(counts: readonly number[], dnNumber = 1): DnLayout {
  const maxT = Math.max(0, ...counts);
  if (maxT === 0) throw new HipieDnError('DN needs at least one GT box in the batch (SegLLM asserts non-empty targets): pass dn: null instead');
  const groups = Math.max(1, Math.floor((2 * dnNumber) / (2 * maxT)));
  return { maxT, groups, groupSize: 2 * maxT, slots: 2 * maxT * groups, counts: [...counts] };
}

/**
 * The self-attention mask [slots + numMatching]^2 (bool, true = may not attend), as prepare_for_cdn builds it:
 * matching queries do not see DN slots; group i does not see the slots of the other groups.
 */
export function dnAttentionMask(layout: Pick<DnLayout, 'groups' | 'groupSize'>, numMatching: number, backend?: string | Backend): Tensor {
  const { groups, groupSize: sp } = layout;
  const pad = sp * groups;
  const n = pad + numMatching;
  const m = new Uint8Array(n * n);
  const set = (r0: number, r1: number, c0: number, c1: number) => {
    for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) m[r * n + c] = 1;
  };
  set(pad, n, 0, pad);
  for (let i = 0; i < groups; i++) {
    set(sp * i, sp * (i + 1), sp * (i + 1), pad);
    set(sp * i, sp * (i + 1), 0, sp * i);
  }
  return tensor(m, { shape: [n, n], dtype: 'bool', backend });
}

/** compute_gt_indices: per image, the positive slot of each GT in every group and the GT it copies. */
export function dnMatches(layout: DnLayout): { query: number[]; target: number[] }[] {
  return layout.counts.map((T) => {
    const query: number[] = [];
    const target: number[] = [];
    for (let g = 0; g < layout.groups; g++) {
      for (let t = 0; t < T; t++) {
        query.push(g * layout.groupSize + t);
        target.push(t);
      }
    }
    return { query, target };
  });
}

/**
 * Noised DN boxes [N * slots * 4] (cxcywh) and which slots hold a box ([N * slots], 1 = GT copy, 0 = padding).
 * boxes: per image the GT boxes, cxcywh normalised, flat [T_b * 4].
 */
export function dnNoisedBoxes(boxes: readonly ArrayLike<number>[], layout: DnLayout, rng: Generator, scale = 1.0): { boxes: Float64Array; present: Uint8Array } {
  const { slots, groups, groupSize, maxT } = layout;
  const out = new Float64Array(boxes.length * slots * 4);
  const present = new Uint8Array(boxes.length * slots);
  boxes.forEach((bx, b) => {
    for (let g = 0; g < groups; g++) {
      for (let neg = 0; neg < 2; neg++) {
        for (let t = 0; t < layout.counts[b]; t++) {
          const s = b * slots + g * groupSize + neg * maxT + t;
          const [cx, cy, w, h] = [bx[4 * t], bx[4 * t + 1], bx[4 * t + 2], bx[4 * t + 3]];
          const xyxy = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
          const diff = [w / 2, h / 2, w / 2, h / 2];
          const n = xyxy.map((v, k) => {
            const sign = rng.random() < 0.5 ? -1 : 1;
            const u = rng.random() + neg;
            return Math.min(1, Math.max(0, v + sign * u * diff[k] * scale));
          });
          out.set([(n[0] + n[2]) / 2, (n[1] + n[3]) / 2, n[2] - n[0], n[3] - n[1]], s * 4);
          present[s] = 1;
        }
      }
    }
  });
  return { boxes: out, present };
}

/** The DN reference boxes [N, slots, 4]: sigmoid(inverse_sigmoid(box)) for GT copies, 0.5 for padding. */
export function dnReferences(noised: { boxes: Float64Array; present: Uint8Array }, N: number, slots: number, dtype: DType, backend?: string | Backend): Tensor {
  const f = Math.fround;
  const refs = new Float64Array(noised.boxes.length).fill(0.5);
  const eps = 1e-5;
  noised.present.forEach((p, s) => {
    if (!p) return;
    for (let k = 0; k < 4; k++) {
      const x = Math.min(1, Math.max(0, noised.boxes[4 * s + k]));
      const inv = Math.log(Math.max(x, eps) / Math.max(1 - x, eps));
      refs[4 * s + k] = dtype === 'float64' ? 1 / (1 + Math.exp(-inv)) : f(1 / (1 + Math.exp(-f(inv))));
    }
  });
  return tensor(dtype === 'float64' ? refs : Float32Array.from(refs), { shape: [N, slots, 4], dtype: dtype === 'float64' ? 'float64' : 'float32', backend }).to(dtype);
}
