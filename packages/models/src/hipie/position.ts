/**
 * Sine position embeddings (segllm-reference.md 4.3 and 4.6):
 * - `sinePositionEmbedding`: the image one of Deformable DETR (PositionEmbeddingSine, normalised): for a map of h x w
 *   with no padding, y = (i + 1 - 0.5) / (h + 1e-6) * 2 pi and x likewise; channel 2k / 2k+1 of each half hold
 *   sin / cos of coord / T^(2k / F) with F = features per axis and T = 10000; channels are [y half, x half].
 * - `querySineEmbedding`: the decoder's embedding of a box (cx, cy, w, h) in [0, 1]: each coordinate times 2 pi through
 *   the same interleaved sin / cos with F features, ordered y, x, w, h (x and y exchanged).
 */
import { cat, tensor, tidy, where } from '@segllm/tensor';
import type { Backend, Tensor } from '@segllm/tensor';

const TWO_PI = 2 * Math.PI;

/** T^(2 floor(i/2) / F) for i < F, in float32 like torch. */
export function sineDimT(numFeats: number, temperature = 10000): Float32Array {
  const d = new Float32Array(numFeats);
  for (let i = 0; i < numFeats; i++) d[i] = Math.fround(temperature ** Math.fround((2 * Math.floor(i / 2)) / numFeats));
  return d;
}

/** [1, 2F, h, w] sine position embedding of an unpadded h x w map (F = numFeats per axis). */
export function sinePositionEmbedding(h: number, w: number, numFeats: number, o: { backend?: string | Backend; temperature?: number } = {}): Tensor {
  const f = Math.fround;
  const dimT = sineDimT(numFeats, o.temperature ?? 10000);
  const out = new Float32Array(2 * numFeats * h * w);
  const eps = 1e-6;
  const scale = f(TWO_PI);
  const embed = (i: number, n: number) => f(f(f(i + 1 - 0.5) / f(n + eps)) * scale);
  for (let c = 0; c < numFeats; c++) {
    const trig = c % 2 === 0 ? Math.sin : Math.cos;
    for (let i = 0; i < h; i++) {
      const vy = trig(f(embed(i, h) / dimT[c]));
      for (let j = 0; j < w; j++) {
        out[(c * h + i) * w + j] = vy;
        out[((numFeats + c) * h + i) * w + j] = trig(f(embed(j, w) / dimT[c]));
      }
    }
  }
  return tensor(out, { shape: [1, 2 * numFeats, h, w], backend: o.backend });
}

/** boxes [..., 4] (cx, cy, w, h) -> [..., 4F]: the sine embeddings of y, x, w, h (F = numFeats each). */
export function querySineEmbedding(boxes: Tensor, numFeats: number, temperature = 10000): Tensor {
  return tidy(() => {
    const dimT = tensor(sineDimT(numFeats, temperature), { backend: boxes.backend, dtype: boxes.dtype }); // [F]
    const even = tensor(Uint8Array.from({ length: numFeats }, (_, i) => (i % 2 === 0 ? 1 : 0)), { dtype: 'bool', backend: boxes.backend }); // [F]
    const arg = boxes.unsqueeze(-1).mul(TWO_PI).div(dimT); // [..., 4, F]
    const emb = where(even, arg.sin(), arg.cos()); // [..., 4, F]
    const d = emb.rank - 2;
    return cat([1, 0, 2, 3].map((i) => emb.select(d, i)), -1); // [..., 4F]
  });
}
