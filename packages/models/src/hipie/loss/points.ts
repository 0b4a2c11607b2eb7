/**
 * PointRend point sampling as HIPIE's loss_masks uses it (point_features.py):
 * - `pointSample`: grid_sample(map, 2p - 1, bilinear, zeros, align_corners=False) at points (x, y) in [0, 1];
 * - `uncertainPoints`: get_uncertain_point_coords_with_randomness with uncertainty -|logit|: oversample x3 uniform
 *   candidates, keep the 75% most uncertain (largest -|logit| at the candidate), add 25% uniform points;
 * - `targetMasksStride4`: get_target_masks (pad to a multiple of 32, take full[2::4, 2::4], no averaging).
 * The random numbers come from an injectable `rng` (uniform [0, 1)), drawn in torch.rand's order: all candidates
 * [M, 3P, 2] first, then the uniform points [M, P - 0.75P, 2].
 */
import { fromStorageArray, gridSample, noGrad, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';

export const NUM_POINTS = 112 * 112;
export const OVERSAMPLE_RATIO = 3;
export const IMPORTANCE_SAMPLE_RATIO = 0.75;

/** Values of maps [M, h, w] at points [M, P, 2] (x, y in [0, 1]) -> [M, P]; differentiable in both. */
export function pointSample(maps: Tensor, points: Tensor): Tensor {
  return tidy(() => {
    const [M, P] = points.shape;
    const grid = points.mul(2).sub(1).unsqueeze(2); // [M, P, 1, 2]
    return gridSample(maps.unsqueeze(1), grid, { alignCorners: false }).reshape([M, P]);
  });
}

/**
 * The `k` most uncertain of the given candidates [M, C, 2] (largest -|logit|, ties by candidate order) for mask
 * logits [M, h, w]: [M, k, 2] on the host, each row in decreasing uncertainty (torch.topk order up to ties; float64
 * logits are ranked at float32 precision). At most 2^22 candidates per instance.
 */
export async function selectUncertain(maskLogits: Tensor, candidates: Float32Array, k: number): Promise<Float32Array> {
  const M = maskLogits.shape[0];
  const C = candidates.length / (2 * Math.max(M, 1));
  const sampled = noGrad(() => tidy(() => pointSample(maskLogits.detach(), fromStorageArray(candidates, [M, C, 2], 'float32', { backend: maskLogits.backend }).to(maskLogits.dtype))));
  const v = await sampled.data();
  sampled.dispose();
  // Sort key per candidate: the float32 bits of |logit| (monotonic for non-negative floats) above the candidate's
  // index, exact in a float64 (< 2^31 * 2^22), so a native numeric sort orders by uncertainty, then by index.
  if (C > 2 ** 22) throw new RangeError(`selectUncertain: ${C} candidates per instance, at most 2^22 are supported`);
  const shift = 2 ** Math.max(1, Math.ceil(Math.log2(C)));
  const abs = new Float32Array(1);
  const bits = new Uint32Array(abs.buffer);
  const keys = new Float64Array(C);
  const out = new Float32Array(M * k * 2);
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < C; i++) {
      abs[0] = Math.abs(v[m * C + i]);
      keys[i] = bits[0] * shift + i;
    }
    keys.sort();
    for (let j = 0; j < k; j++) {
      const i = keys[j] % shift;
      out[(m * k + j) * 2] = candidates[(m * C + i) * 2];
      out[(m * k + j) * 2 + 1] = candidates[(m * C + i) * 2 + 1];
    }
  }
  return out;
}

/** Uniform random numbers in float32, `n` of them. */
function draw(rng: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng();
  return out;
}

/** get_uncertain_point_coords_with_randomness for mask logits [M, h, w] -> points [M, numPoints, 2] (float32). */
export async function uncertainPoints(maskLogits: Tensor, rng: () => number, numPoints = NUM_POINTS): Promise<Tensor> {
  const M = maskLogits.shape[0];
  const C = Math.trunc(numPoints * OVERSAMPLE_RATIO);
  const k = Math.trunc(IMPORTANCE_SAMPLE_RATIO * numPoints);
  const sel = await selectUncertain(maskLogits, draw(rng, M * C * 2), k);
  const extra = draw(rng, M * (numPoints - k) * 2);
  const out = new Float32Array(M * numPoints * 2);
  for (let m = 0; m < M; m++) {
    out.set(sel.subarray(m * k * 2, (m + 1) * k * 2), m * numPoints * 2);
    out.set(extra.subarray(m * (numPoints - k) * 2, (m + 1) * (numPoints - k) * 2), (m * numPoints + k) * 2);
  }
  return fromStorageArray(out, [M, numPoints, 2], 'float32', { backend: maskLogits.backend });
}

/**
 * A target mask [S, S] (0/1, row-major, at `offset` in `masks`) at stride 4 as get_target_masks takes it: padded to a
 * multiple of 32 with zeros, then rows and columns 2, 6, 10, ... -> [ceil32(S) / 4, ceil32(S) / 4].
 */
export function targetMaskStride4(masks: Uint8Array, offset: number, S: number): Float32Array {
  const n = Math.ceil(S / 32) * 8;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const r = 2 + 4 * i;
    if (r >= S) break;
    for (let j = 0; j < n; j++) {
      const c = 2 + 4 * j;
      if (c < S) out[i * n + j] = masks[offset + r * S + c] ? 1 : 0;
    }
  }
  return out;
}
