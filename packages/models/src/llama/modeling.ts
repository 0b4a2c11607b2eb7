/**
 * LLaMA (HF LlamaForCausalLM): RMSNorm, rotary embeddings (rotate_half convention, theta from the config), grouped
 * KV heads, SwiGLU MLP, untied lm_head. The module tree is the checkpoint's: `model.embed_tokens`,
 * `model.layers.N.{self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, input_layernorm, post_attention_layernorm}`,
 * `model.norm`, `lm_head`.
 */
import { applyRotaryEmb, fuse, rotaryCosSin, scaledDotProductAttention, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { Embedding, Linear, Module, RMSNorm } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import { KVCache } from './cache.ts';
import type { LlamaConfig } from './config.ts';

/** Bad inputs to the LLaMA forward (both or neither of ids/embeddings, wrong shapes). */
export class LlamaInputError extends Error {
  override readonly name = 'LlamaInputError';
}

/** silu(gate) * up as one kernel (one read of each, one write; bit-equal to the two ops on the CPU in float32). */
const swiglu = fuse((gate, up) => gate.silu().mul(up));

export class LlamaAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  constructor(
    readonly config: LlamaConfig,
    readonly layer_idx: number,
    opts: InitOptions = {},
  ) {
    super();
    const { hidden_size: D, num_attention_heads: H, num_key_value_heads: Hk, head_dim: hd, attention_bias: bias } = config;
    this.q_proj = new Linear(D, H * hd, { ...opts, bias });
    this.k_proj = new Linear(D, Hk * hd, { ...opts, bias });
    this.v_proj = new Linear(D, Hk * hd, { ...opts, bias });
    this.o_proj = new Linear(H * hd, D, { ...opts, bias });
  }
  /** x [B, T, D], cos/sin [T, hd] -> [B, T, D]; causal over the cached positions plus this chunk. */
  forward(x: Tensor, cos: Tensor, sin: Tensor, cache?: KVCache): Tensor {
    return tidy(() => {
      const { num_attention_heads: H, num_key_value_heads: Hk, head_dim: hd } = this.config;
      const [B, T] = x.shape;
      const q = applyRotaryEmb(this.q_proj.forward(x).reshape([B, T, H, hd]).transpose(1, 2), cos, sin); // [B, H, T, hd]
      let k = applyRotaryEmb(this.k_proj.forward(x).reshape([B, T, Hk, hd]).transpose(1, 2), cos, sin); // [B, Hk, T, hd]
      let v = this.v_proj.forward(x).reshape([B, T, Hk, hd]).transpose(1, 2); // [B, Hk, T, hd]
      if (cache) [k, v] = cache.update(this.layer_idx, k, v); // [B, Hk, past + T, hd]
      const o = scaledDotProductAttention(q, k, v, { isCausal: true, scale: hd ** -0.5 }); // [B, H, T, hd]
      return this.o_proj.forward(o.transpose(1, 2).reshape([B, T, H * hd])); // [B, T, D]
    });
  }
}

export class LlamaMlp extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  constructor(config: LlamaConfig, opts: InitOptions = {}) {
    super();
    const { hidden_size: D, intermediate_size: F, mlp_bias: bias } = config;
    this.gate_proj = new Linear(D, F, { ...opts, bias });
    this.up_proj = new Linear(D, F, { ...opts, bias });
    this.down_proj = new Linear(F, D, { ...opts, bias });
  }
  /** SwiGLU: down(silu(gate(x)) * up(x)), [B, T, D] -> [B, T, D]. */
  forward(x: Tensor): Tensor {
    return tidy(() => this.down_proj.forward(swiglu(this.gate_proj.forward(x), this.up_proj.forward(x))));
  }
}

export class LlamaDecoderLayer extends Module {
  self_attn: LlamaAttention;
  mlp: LlamaMlp;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;
  constructor(config: LlamaConfig, layer_idx: number, opts: InitOptions = {}) {
    super();
    this.self_attn = new LlamaAttention(config, layer_idx, opts);
    this.mlp = new LlamaMlp(config, opts);
    this.input_layernorm = new RMSNorm(config.hidden_size, config.rms_norm_eps, opts);
    this.post_attention_layernorm = new RMSNorm(config.hidden_size, config.rms_norm_eps, opts);
  }
  /** [B, T, D] -> [B, T, D]. */
  forward(x: Tensor, cos: Tensor, sin: Tensor, cache?: KVCache): Tensor {
    return tidy(() => {
      const h = x.add(this.self_attn.forward(this.input_layernorm.forward(x), cos, sin, cache)); // [B, T, D]
      return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h)));
    });
  }
}

export interface LlamaForwardOptions {
  /** Token ids, int32 [B, T]. Exactly one of inputIds and inputsEmbeds. */
  inputIds?: Tensor;
  /** Input embeddings [B, T, D] (LLaVA/SegLLM splice image and mask features into them). */
  inputsEmbeds?: Tensor;
  /** Cached keys/values of earlier positions; this chunk is appended and positions continue from cache.length. */
  cache?: KVCache;
  /** Position of the first token when no cache is given (default 0). */
  positionOffset?: number;
}

export class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: LlamaDecoderLayer[];
  norm: RMSNorm;
  constructor(readonly config: LlamaConfig, opts: InitOptions = {}) {
    super();
    this.embed_tokens = new Embedding(config.vocab_size, config.hidden_size, opts);
    this.layers = Array.from({ length: config.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(config, i, opts));
    this.norm = new RMSNorm(config.hidden_size, config.rms_norm_eps, opts);
  }

  /** Returns the final hidden states after `norm`, [B, T, D]. Appends to `cache` and advances it when given. */
  forward(o: LlamaForwardOptions): Tensor {
    if ((o.inputIds === undefined) === (o.inputsEmbeds === undefined)) throw new LlamaInputError('pass exactly one of inputIds and inputsEmbeds');
    const D = this.config.hidden_size;
    if (o.inputsEmbeds && (o.inputsEmbeds.rank !== 3 || o.inputsEmbeds.shape[2] !== D)) {
      throw new LlamaInputError(`inputsEmbeds must be [B, T, ${D}], got [${o.inputsEmbeds.shape.join(', ')}]`);
    }
    if (o.inputIds && o.inputIds.rank !== 2) throw new LlamaInputError(`inputIds must be [B, T], got [${o.inputIds.shape.join(', ')}]`);
    const src = o.inputIds ?? o.inputsEmbeds!;
    o.cache?.check(src.shape[0], src.shape[1]);
    const x0 = o.inputsEmbeds ?? this.embed_tokens.forward(o.inputIds!); // [B, T, D]
    const T = x0.shape[1];
    const start = o.cache ? o.cache.length : (o.positionOffset ?? 0);
    const wdt = this.norm.weight.dtype;
    const { cos, sin } = tidy(() => {
      const cs = rotaryCosSin(Array.from({ length: T }, (_, i) => start + i), this.config.head_dim, this.config.rope_theta, { backend: x0.backend }); // [T, hd]
      return wdt === 'float32' ? cs : { cos: cs.cos.to(wdt), sin: cs.sin.to(wdt) };
    });
    let h = x0.dtype === wdt ? x0 : x0.to(wdt);
    for (const layer of this.layers) {
      const next = layer.forward(h, cos, sin, o.cache); // [B, T, D]
      if (h !== o.inputsEmbeds) h.dispose();
      h = next;
    }
    o.cache?.advance(T);
    cos.dispose();
    sin.dispose();
    const out = this.norm.forward(h);
    h.dispose();
    return out;
  }
}

export interface CausalLmOutput {
  /** [B, T, vocab], or [B, 1, vocab] with logits: 'last'; null with logits: 'none'. */
  logits: Tensor | null;
  /** Final hidden states after the final norm, [B, T, D]. */
  last_hidden_state: Tensor;
}

export class LlamaForCausalLM extends Module {
  model: LlamaModel;
  lm_head: Linear;
  constructor(readonly config: LlamaConfig, opts: InitOptions = {}) {
    super();
    this.model = new LlamaModel(config, opts);
    this.lm_head = new Linear(config.hidden_size, config.vocab_size, { ...opts, bias: false });
    if (config.tie_word_embeddings) {
      this.lm_head.weight.dispose();
      this.lm_head.weight = this.model.embed_tokens.weight;
    }
  }

  /** A KV cache shaped for this model: preallocated to maxLength, or growing when maxLength is omitted. */
  makeCache(batch = 1, maxLength?: number): KVCache {
    const c = this.config;
    const w = this.lm_head.weight;
    return new KVCache({ numLayers: c.num_hidden_layers, batch, numKvHeads: c.num_key_value_heads, headDim: c.head_dim, maxLength, dtype: w.dtype, backend: w.backend });
  }

  /** Logits for every position ('all', the default), the last one only ('last'), or none. */
  forward(o: LlamaForwardOptions & { logits?: 'all' | 'last' | 'none' }): CausalLmOutput {
    const last_hidden_state = this.model.forward(o);
    const mode = o.logits ?? 'all';
    const logits =
      mode === 'none' ? null : tidy(() => this.lm_head.forward(mode === 'last' ? last_hidden_state.slice(1, last_hidden_state.shape[1] - 1) : last_hidden_state));
    return { logits, last_hidden_state };
  }

  /** embed_tokens(ids): int32 [B, T] -> [B, T, D] (to splice foreign embeddings before forward). */
  embed(inputIds: Tensor): Tensor {
    return this.model.embed_tokens.forward(inputIds);
  }
}
