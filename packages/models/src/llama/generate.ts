/**
 * Generation with a KV cache (batch 1): one prefill over the prompt (ids or embeddings), then one single-token
 * forward per new token. Greedy (argmax, first index on ties, as torch) or sampled with HF's warper order
 * (temperature, top-k, top-p) and a seeded Generator; stops after maxNewTokens or at a stop id (which is kept).
 */
import { Generator, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import type { KVCache } from './cache.ts';
import type { LlamaForCausalLM } from './modeling.ts';
import { LlamaInputError } from './modeling.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Sample instead of taking the argmax (default false). */
  doSample?: boolean;
  /** Divides the logits before sampling (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens (ties with the k-th kept, as HF); 0 disables. */
  topK?: number;
  /** Keep the smallest set whose probability reaches topP (HF's rule); 1 disables. */
  topP?: number;
  /** Generation stops after emitting one of these (e.g. EOS 2 or `</s>`). */
  stopIds?: readonly number[];
  /** Random source for sampling (default: a Generator seeded with 0). */
  generator?: Generator;
  /** Continue this cache (a conversation so far); the prompt is appended to it. A new growing cache otherwise. */
  cache?: KVCache;
  /** Preallocate a new cache to prompt + maxNewTokens positions (default true). */
  preallocate?: boolean;
}

export interface GenerateResult {
  /** The new token ids (the stop id included when one ended generation). */
  tokens: number[];
  /** The cache, holding the prompt and every generated token except the last. */
  cache: KVCache;
}

/** In-place HF TopKLogitsWarper: scores below the k-th largest become -Infinity. */
export function topKFilter(scores: Float64Array, k: number): void {
  if (k <= 0 || k >= scores.length) return;
  const kth = Float64Array.from(scores).sort().reverse()[k - 1];
  for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
}

/**
 * In-place HF TopPLogitsWarper: sort ascending, drop the tokens whose cumulative probability is <= 1 - p (at least
 * one token is kept).
 */
export function topPFilter(scores: Float64Array, p: number): void {
  if (p >= 1) return;
  const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b] || a - b);
  const probs = softmax64(Float64Array.from(order, (i) => scores[i]));
  let cum = 0;
  for (let j = 0; j < order.length - 1; j++) {
    cum += probs[j];
    if (cum <= 1 - p) scores[order[j]] = -Infinity;
  }
}

function softmax64(x: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of x) if (v > m) m = v;
  const out = new Float64Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += out[i] = x[i] === -Infinity ? 0 : Math.exp(x[i] - m);
  for (let i = 0; i < x.length; i++) out[i] /= s;
  return out;
}

/** Picks the next token from one row of logits. */
export function nextToken(logits: ArrayLike<number>, o: Omit<GenerateOptions, 'maxNewTokens'>, generator: Generator): number {
  if (!o.doSample) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const t = o.temperature ?? 1;
  if (!(t > 0)) throw new LlamaInputError(`temperature must be > 0 for sampling, got ${t} (use doSample: false for greedy)`);
  const s = Float64Array.from(logits, (v) => v / t);
  topKFilter(s, o.topK ?? 0);
  topPFilter(s, o.topP ?? 1);
  const p = softmax64(s);
  const u = generator.random();
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    last = i;
    cum += p[i];
    if (u < cum) return i;
  }
  return last;
}

/** Generates up to maxNewTokens tokens after `prompt` (int32 ids [1, T] or a number[], or embeddings [1, T, D]). */
export async function generate(model: LlamaForCausalLM, prompt: Tensor | readonly number[], o: GenerateOptions): Promise<GenerateResult> {
  const backend = model.lm_head.weight.backend;
  const isEmb = !Array.isArray(prompt) && (prompt as Tensor).rank === 3;
  const ids = Array.isArray(prompt) ? tensor([prompt as number[]], { dtype: 'int32', backend }) : (prompt as Tensor);
  if (ids.shape[0] !== 1) throw new LlamaInputError(`generate handles batch 1, got a prompt of shape [${ids.shape.join(', ')}]`);
  const T = ids.shape[1];
  const cache = o.cache ?? model.makeCache(1, (o.preallocate ?? true) ? T + o.maxNewTokens : undefined);
  const gen = o.generator ?? new Generator(0);
  const stops = new Set(o.stopIds ?? []);
  const tokens: number[] = [];
  if (o.maxNewTokens <= 0) {
    if (ids !== prompt) ids.dispose();
    return { tokens, cache };
  }
  let out = model.forward({ ...(isEmb ? { inputsEmbeds: ids } : { inputIds: ids }), cache, logits: 'last' });
  if (ids !== prompt) ids.dispose();
  for (let step = 0; step < o.maxNewTokens; step++) {
    const row = await out.logits!.data(); // [vocab]
    out.logits!.dispose();
    out.last_hidden_state.dispose();
    const tok = nextToken(row, o, gen);
    tokens.push(tok);
    if (stops.has(tok) || step === o.maxNewTokens - 1) break;
    const next = tensor([[tok]], { dtype: 'int32', backend });
    out = model.forward({ inputIds: next, cache, logits: 'last' });
    next.dispose();
  }
  return { tokens, cache };
}
