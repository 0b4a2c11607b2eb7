/**
 * The CLIP vision transformer (HF CLIPVisionTransformer, the `vision_model` of CLIPVisionModel). The module tree is
 * the checkpoint's: `embeddings.{patch_embedding, class_embedding, position_embedding}`, `pre_layrnorm` (sic),
 * `encoder.layers.N.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.{fc1, fc2}, layer_norm2}`, `post_layernorm`.
 */
import { cat, randn, scaledDotProductAttention, tidy } from '@segllm/tensor';
import type { Activation, Tensor } from '@segllm/tensor';
import { Conv2d, Embedding, LayerNorm, Linear, Module, parameter } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { ClipHiddenAct, ClipVisionConfig } from './config.ts';

/** An input whose size does not match the configuration, or a bad feature-selection request. */
export class ClipInputError extends Error {
  override readonly name = 'ClipInputError';
}

/** The config's hidden_act as a `linear` activation (gelu_new and gelu_pytorch_tanh are the tanh approximation). */
function activation(act: ClipHiddenAct): Activation {
  return act === 'quick_gelu' ? 'quick_gelu' : act === 'gelu' ? 'gelu' : 'gelu_tanh';
}

export class ClipVisionEmbeddings extends Module {
  class_embedding: Tensor;
  patch_embedding: Conv2d;
  position_embedding: Embedding;
  readonly num_patches: number;
  readonly num_positions: number;
  constructor(readonly config: ClipVisionConfig, opts: InitOptions = {}) {
    super();
    const D = config.hidden_size;
    this.class_embedding = parameter(randn([D], { dtype: opts.dtype, backend: opts.backend, generator: opts.generator }));
    this.patch_embedding = new Conv2d(config.num_channels, D, config.patch_size, { ...opts, stride: config.patch_size, bias: false });
    this.num_patches = (config.image_size / config.patch_size) ** 2;
    this.num_positions = this.num_patches + 1;
    this.position_embedding = new Embedding(this.num_positions, D, opts);
  }
  /** Old checkpoints (transformers < 4.31) saved the `position_ids` buffer; it is accepted and ignored. */
  protected override ignoredStateKeys(): readonly string[] {
    return ['position_ids'];
  }
  /** pixel_values [B, C, H, W] -> [B, 1 + (H/p)(W/p), D] (CLS first). */
  forward(pixel_values: Tensor): Tensor {
    const { patch_size: p, image_size } = this.config;
    const [B, C, H, W] = pixel_values.shape;
    if (pixel_values.rank !== 4 || C !== this.config.num_channels || (H / p) * (W / p) !== this.num_patches || H % p !== 0 || W % p !== 0) {
      throw new ClipInputError(
        `CLIP expects pixel_values [B, ${this.config.num_channels}, H, W] with a ${image_size / p}x${image_size / p} patch grid ` +
          `(${image_size}x${image_size} at patch ${p}), got [${pixel_values.shape.join(', ')}]: resize the image with clipPreprocess({size: ${image_size}})`,
      );
    }
    return tidy(() => {
      const D = this.config.hidden_size;
      const x = pixel_values.dtype === this.patch_embedding.weight.dtype ? pixel_values : pixel_values.to(this.patch_embedding.weight.dtype);
      const patches = this.patch_embedding.forward(x).flatten(2).transpose(1, 2); // [B, N, D]
      const cls = this.class_embedding.reshape([1, 1, D]).expand([B, 1, D]); // [B, 1, D]
      const emb = cat([cls, patches], 1); // [B, N+1, D]
      return emb.add(this.position_embedding.weight.unsqueeze(0)); // [B, N+1, D]
    });
  }
}

export class ClipAttention extends Module {
  k_proj: Linear;
  v_proj: Linear;
  q_proj: Linear;
  out_proj: Linear;
  readonly num_heads: number;
  readonly head_dim: number;
  constructor(config: ClipVisionConfig, opts: InitOptions = {}) {
    super();
    const D = config.hidden_size;
    this.num_heads = config.num_attention_heads;
    this.head_dim = D / this.num_heads;
    this.k_proj = new Linear(D, D, opts);
    this.v_proj = new Linear(D, D, opts);
    this.q_proj = new Linear(D, D, opts);
    this.out_proj = new Linear(D, D, opts);
  }
  /** x [B, T, D] -> [B, T, D]; full (non-causal) attention. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [B, T, D] = x.shape;
      const heads = (t: Tensor) => t.reshape([B, T, this.num_heads, this.head_dim]).transpose(1, 2); // [B, H, T, hd]
      const q = heads(this.q_proj.forward(x));
      const k = heads(this.k_proj.forward(x));
      const v = heads(this.v_proj.forward(x));
      const o = scaledDotProductAttention(q, k, v, { scale: this.head_dim ** -0.5 }); // [B, H, T, hd]
      return this.out_proj.forward(o.transpose(1, 2).reshape([B, T, D]));
    });
  }
}

export class ClipMlp extends Module {
  fc1: Linear;
  fc2: Linear;
  constructor(readonly config: ClipVisionConfig, opts: InitOptions = {}) {
    super();
    this.fc1 = new Linear(config.hidden_size, config.intermediate_size, opts);
    this.fc2 = new Linear(config.intermediate_size, config.hidden_size, opts);
  }
  /** [B, T, D] -> [B, T, D]. */
  forward(x: Tensor): Tensor {
    // the activation runs in fc1's matmul kernel (bias + activation epilogue) where the backend fuses it
    return tidy(() => this.fc2.forward(this.fc1.forward(x, { activation: activation(this.config.hidden_act) })));
  }
}

export class ClipEncoderLayer extends Module {
  self_attn: ClipAttention;
  layer_norm1: LayerNorm;
  mlp: ClipMlp;
  layer_norm2: LayerNorm;
  constructor(config: ClipVisionConfig, opts: InitOptions = {}) {
    super();
    this.self_attn = new ClipAttention(config, opts);
    this.layer_norm1 = new LayerNorm(config.hidden_size, config.layer_norm_eps, opts);
    this.mlp = new ClipMlp(config, opts);
    this.layer_norm2 = new LayerNorm(config.hidden_size, config.layer_norm_eps, opts);
  }
  /** Pre-norm block: h + attn(ln1(h)), then + mlp(ln2(.)). [B, T, D] -> [B, T, D]. */
  forward(h: Tensor): Tensor {
    return tidy(() => {
      const a = h.add(this.self_attn.forward(this.layer_norm1.forward(h))); // [B, T, D]
      return a.add(this.mlp.forward(this.layer_norm2.forward(a)));
    });
  }
}

export class ClipEncoder extends Module {
  layers: ClipEncoderLayer[];
  constructor(config: ClipVisionConfig, opts: InitOptions = {}) {
    super();
    this.layers = Array.from({ length: config.num_hidden_layers }, () => new ClipEncoderLayer(config, opts));
  }
}

export interface ClipVisionOutput {
  /** Output of the last encoder layer (not post-normed), [B, T, D] with T = 1 + patches. */
  last_hidden_state: Tensor;
  /** post_layernorm(last_hidden_state[:, 0]), [B, D]. */
  pooler_output: Tensor;
  /** The encoder input (pre_layrnorm output) and every layer's output: num_hidden_layers + 1 tensors [B, T, D]. */
  hidden_states: Tensor[];
}

/** LLaVA's feature selection: which hidden state (negative counts from the end) and which tokens. */
export interface FeatureSelectOptions {
  /** `mm_vision_select_layer`: index into hidden_states (default -2, the second-to-last layer's output). */
  selectLayer?: number;
  /** `patch` drops CLS, `cls_patch` keeps every token, `cls` keeps only CLS (SegLLM's mask encoding). */
  selectFeature?: 'patch' | 'cls_patch' | 'cls';
}

export class ClipVisionTransformer extends Module {
  embeddings: ClipVisionEmbeddings;
  pre_layrnorm: LayerNorm;
  encoder: ClipEncoder;
  post_layernorm: LayerNorm;
  constructor(readonly config: ClipVisionConfig, opts: InitOptions = {}) {
    super();
    this.embeddings = new ClipVisionEmbeddings(config, opts);
    this.pre_layrnorm = new LayerNorm(config.hidden_size, config.layer_norm_eps, opts);
    this.encoder = new ClipEncoder(config, opts);
    this.post_layernorm = new LayerNorm(config.hidden_size, config.layer_norm_eps, opts);
  }

  /** Runs the embeddings and the first `numLayers` layers; returns the encoder input and each layer's output. */
  #run(pixel_values: Tensor, numLayers: number): Tensor[] {
    let h = tidy(() => this.pre_layrnorm.forward(this.embeddings.forward(pixel_values))); // [B, T, D]
    const states = [h];
    for (let i = 0; i < numLayers; i++) {
      h = this.encoder.layers[i].forward(h); // [B, T, D]
      states.push(h);
    }
    return states;
  }

  /** pixel_values [B, C, H, W] -> every hidden state, the last one, and the pooled CLS (see ClipVisionOutput). */
  forward(pixel_values: Tensor): ClipVisionOutput {
    const hidden_states = this.#run(pixel_values, this.config.num_hidden_layers);
    const last = hidden_states[hidden_states.length - 1];
    const pooler_output = tidy(() => this.post_layernorm.forward(last.select(1, 0))); // [B, D]
    return { last_hidden_state: last, pooler_output, hidden_states };
  }

  /**
   * LLaVA's `feature_select`: hidden_states[selectLayer] with CLS dropped (`patch`, [B, N, D]), kept alone (`cls`,
   * [B, 1, D]) or kept with the patches (`cls_patch`, [B, 1+N, D]). Only the layers needed are run.
   */
  features(pixel_values: Tensor, opts: FeatureSelectOptions = {}): Tensor {
    const L = this.config.num_hidden_layers;
    const sel = opts.selectLayer ?? -2;
    const idx = sel < 0 ? L + 1 + sel : sel;
    if (!Number.isInteger(sel) || idx < 0 || idx > L) {
      throw new ClipInputError(`mm_vision_select_layer ${sel} is out of range for ${L} layers (hidden_states has ${L + 1} entries)`);
    }
    const feature = opts.selectFeature ?? 'patch';
    if (!['patch', 'cls_patch', 'cls'].includes(feature)) throw new ClipInputError(`mm_vision_select_feature "${feature}" is not one of patch, cls_patch, cls`);
    const states = this.#run(pixel_values, idx);
    const h = states[idx]; // [B, T, D]
    for (let i = 0; i < idx; i++) states[i].dispose();
    if (feature === 'cls_patch') return h;
    const out = tidy(() => (feature === 'patch' ? h.slice(1, 1) : h.slice(1, 0, 1)).contiguous());
    h.dispose();
    return out;
  }

  /** Freezes every parameter (SegLLM runs the tower without gradients). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }
}
