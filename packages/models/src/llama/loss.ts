/** HF's causal-LM loss (ForCausalLMLoss): next-token cross-entropy with labels shifted inside, ignore_index -100. */
import { gather, tidy, where } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { LlamaInputError } from './modeling.ts';

/**
 * logits [B, T, V], labels int32 [B, T] (the input ids, -100 where ignored) -> scalar mean over the counted
 * positions of -log p(labels[t+1] | <= t), computed in float32 like HF.
 */
export function causalLmLoss(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const [B, T, V] = logits.shape;
  if (logits.rank !== 3 || labels.rank !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) {
    throw new LlamaInputError(`causalLmLoss needs logits [B, T, V] and labels [B, T], got [${logits.shape.join(', ')}] and [${labels.shape.join(', ')}]`);
  }
  return tidy(() => {
    const lg = logits.slice(1, 0, T - 1).toFloat().reshape([B * (T - 1), V]); // [N, V]
    const tgt = labels.slice(1, 1, T).contiguous().reshape([B * (T - 1)]); // [N]
    const valid = tgt.ne(ignoreIndex); // [N] bool
    const idx = where(valid, tgt, 0).unsqueeze(1); // [N, 1]
    const logp = gather(lg.logSoftmax(-1), 1, idx).squeeze(1); // [N]
    const w = valid.toFloat(); // [N]
    return logp.mul(w).sum().neg().div(w.sum());
  });
}
