/**
 * Two-stage query selection (segllm-reference.md 4.6 steps 1-3; gen_encoder_output_proposals and the selection in
 * DeformableTransformerVLDINO.forward): one proposal per encoder token, centred on its cell with size 0.05 * 2^level,
 * stored as a logit; tokens whose proposal is not inside (0.01, 0.99) in all four coordinates get +inf and zeroed
 * memory. The objectness of LN(Linear(memory)) picks the top-k tokens; their boxes (box head + proposal) become the
 * references of the foreground queries.
 */
import { tensor } from '@segllm/tensor';
import type { Backend, Tensor } from '@segllm/tensor';
import type { SpatialShapes } from './msdeform.ts';

export interface Proposals {
  /** [1, S, 4] proposal logits (+inf where invalid). */
  logits: Tensor;
  /** [1, S, 1] true where the proposal is valid. */
  valid: Tensor;
}

/** The proposals of every encoder token, computed in float32 like the reference. */
export function encoderProposals(shapes: SpatialShapes, backend?: string | Backend): Proposals {
  const f = Math.fround;
  const S = shapes.reduce((n, [h, w]) => n + h * w, 0);
  const logits = new Float32Array(S * 4);
  const valid = new Uint8Array(S);
  let s = 0;
  shapes.forEach(([h, w], lvl) => {
    const wh = f(f(0.05) * 2 ** lvl);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++, s++) {
        const p = [f(f(j + 0.5) / w), f(f(i + 0.5) / h), wh, wh];
        const ok = p.every((v) => v > 0.01 && v < 0.99);
        valid[s] = ok ? 1 : 0;
        for (let k = 0; k < 4; k++) logits[s * 4 + k] = ok ? f(Math.log(f(p[k] / f(1 - p[k])))) : Infinity;
      }
    }
  });
  return {
    logits: tensor(logits, { shape: [1, S, 4], backend }),
    valid: tensor(valid, { shape: [1, S, 1], dtype: 'bool', backend }),
  };
}
