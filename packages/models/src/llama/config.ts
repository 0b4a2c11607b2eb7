/** LlamaConfig with the HF field names and defaults (transformers LlamaConfig). */
import { Fields, asConfigObject } from '../checkpoint/config.ts';

export interface LlamaConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Grouped KV heads (defaults to num_attention_heads). */
  num_key_value_heads: number;
  /** Defaults to hidden_size / num_attention_heads. */
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  /** `rope_theta` (transformers 4) or `rope_parameters.rope_theta` (transformers 5). */
  rope_theta: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  mlp_bias: boolean;
  bos_token_id: number | null;
  /** One id or several (generation stops at any). */
  eos_token_id: number | number[] | null;
  pad_token_id: number | null;
}

/** LLaMA-2-7B / Vicuna-7B (SegLLM's LLM, vocab grown to 32011 by its added tokens). */
export const LLAMA_2_7B: LlamaConfig = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  head_dim: 128,
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
};

function optionalId(f: Fields, key: string): number | null {
  return f.has(key) ? f.int(key, undefined, 0) : null;
}

/** Reads a LlamaConfig (also the LLaMA part of a LLaVA/SegLLM config.json). Unsupported RoPE scaling raises ConfigError. */
export function parseLlamaConfig(input: unknown): LlamaConfig {
  const f = new Fields(asConfigObject(input));
  const heads = f.int('num_attention_heads', 32);
  const hidden = f.int('hidden_size', 4096);
  let theta = 10000;
  const rp = f.sub('rope_parameters');
  if (rp) {
    rp.oneOf('rope_type', ['default'], 'default');
    theta = rp.positive('rope_theta', 10000);
  } else theta = f.positive('rope_theta', 10000);
  const rs = f.sub('rope_scaling');
  if (rs) rs.oneOf('rope_type', ['default'], (rs.obj.type as 'default' | undefined) ?? 'default');
  f.oneOf('hidden_act', ['silu'], 'silu');
  if (f.has('pretraining_tp') && f.int('pretraining_tp', 1) !== 1) f.fail('pretraining_tp', 'only 1 is supported (it only changes how PyTorch splits matmuls)');
  const cfg: LlamaConfig = {
    vocab_size: f.int('vocab_size', 32000),
    hidden_size: hidden,
    intermediate_size: f.int('intermediate_size', 11008),
    num_hidden_layers: f.int('num_hidden_layers', 32),
    num_attention_heads: heads,
    num_key_value_heads: f.int('num_key_value_heads', heads),
    head_dim: f.int('head_dim', Math.floor(hidden / heads)),
    max_position_embeddings: f.int('max_position_embeddings', 2048),
    rms_norm_eps: f.positive('rms_norm_eps', 1e-6),
    rope_theta: theta,
    tie_word_embeddings: f.bool('tie_word_embeddings', false),
    attention_bias: f.bool('attention_bias', false),
    mlp_bias: f.bool('mlp_bias', false),
    bos_token_id: optionalId(f, 'bos_token_id'),
    eos_token_id: f.intOrList('eos_token_id'),
    pad_token_id: optionalId(f, 'pad_token_id'),
  };
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    f.fail('num_key_value_heads', `${cfg.num_key_value_heads} KV heads do not divide ${cfg.num_attention_heads} attention heads`);
  }
  if (cfg.head_dim % 2 !== 0) f.fail('head_dim', `must be even for rotary embeddings, got ${cfg.head_dim}`);
  return cfg;
}
