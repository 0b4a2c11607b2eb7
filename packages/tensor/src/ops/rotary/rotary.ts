/**
 * Rotary position embedding in the HF rotate_half convention (LlamaRotaryEmbedding / apply_rotary_pos_emb).
 * Composites only (no kernel): cat/slice, mul/add, cos/sin.
 */
import { tidy } from '../../memory.ts';
import type { Backend } from '../../backend.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { fromStorageArray, tensor } from '../../tensor.ts';
import { cat } from '../join/join.ts';
import { cast } from '../copy/copy.ts';
import { reshape } from '../movement/views.ts';

/** cat(-x[..., D/2:], x[..., :D/2]) along the last dim (D even). */
export function rotateHalf(x: Tensor): Tensor {
  const D = x.shape[x.rank - 1];
  if (x.rank === 0 || D % 2 !== 0) throw new ShapeError(`rotateHalf: the last dim must be even, got ${fmtShape(x.shape)}`);
  const h = D / 2;
  return tidy(() => cat([x.slice(-1, h, D).neg(), x.slice(-1, 0, h)], -1));
}

/** x * cos + rotateHalf(x) * sin, cos/sin broadcast against x (e.g. [T, D] against [B, H, T, D]). */
export function applyRotaryEmb(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return tidy(() => x.mul(cos).add(rotateHalf(x).mul(sin)));
}

function isTensor(p: Tensor | readonly number[]): p is Tensor {
  return !Array.isArray(p);
}

export interface RotaryOptions {
  /** Backend for number[] positions (a tensor's own backend otherwise). */
  backend?: string | Backend;
}

/**
 * cos and sin tables [T, headDim] for positions [T] (or [...positions.shape, headDim], e.g. [B, T, headDim] for
 * per-sequence position ids [B, T]), exactly as HF LlamaRotaryEmbedding (default rope type):
 * inv_freq = 1 / theta^(arange(0, headDim, 2) / headDim) in float32, freqs = positions (float32) x inv_freq (one
 * float32 product each, like the outer-product matmul), emb = cat(freqs, freqs), then cos/sin in float32.
 */
export function rotaryCosSin(positions: Tensor | readonly number[], headDim: number, theta = 10000, opts: RotaryOptions = {}): { cos: Tensor; sin: Tensor } {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) throw new ShapeError(`rotaryCosSin: headDim must be a positive even integer, got ${headDim}`);
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    // float32 exponent (i*2 as float / dim), float32 power, float32 reciprocal, like torch on float32 tensors.
    const e = Math.fround(Math.fround(2 * i) / headDim);
    inv[i] = Math.fround(1 / Math.fround(Math.pow(theta, e)));
  }
  return tidy(() => {
    const pos = isTensor(positions) ? cast(positions, 'float32') : tensor(Float32Array.from(positions), { backend: opts.backend });
    const invT = fromStorageArray(inv, [half], 'float32', { backend: pos.backend });
    const freqs = reshape(pos, [...pos.shape, 1]).mul(invT); // [...positions, headDim/2]
    const emb = cat([freqs, freqs], -1); // [...positions, headDim]
    return { cos: emb.cos(), sin: emb.sin() };
  });
}
