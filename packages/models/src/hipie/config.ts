/**
 * HIPIE R50 "thing" decoder configuration (segllm-reference.md 4.1): every size the module tree is built from. The
 * defaults are the released SegLLM/HIPIE sizes; tiny test configs override them. Field names follow the metadata that
 * make_hipie_goldens.py records (`about.config`), so a weights file's config parses directly.
 */
import type { ResNetConfig } from '../resnet/config.ts';
import { RESNET50 } from '../resnet/config.ts';
import { preview } from '@segllm/tensor';

export interface HipieConfig {
  hidden_dim: number;
  nheads: number;
  enc_layers: number;
  dec_layers: number;
  dim_feedforward: number;
  /** Foreground queries chosen by the two-stage selection (top-k). */
  num_queries: number;
  /** Learned background queries put in front of the foreground ones. */
  num_bg_queries: number;
  /** Inner width of the vision-language bi-attention (8 heads x 256 at the released size). */
  vl_hidden_dim: number;
  vl_heads: number;
  lang_dim: number;
  num_feature_levels: number;
  enc_n_points: number;
  dec_n_points: number;
  /** Encoder layers preceded by a VL fusion block (the first ones); the others have none. */
  num_vl_layers: number;
  dynamic_mask_channels: number;
  /** Channels of the mask features (hidden_dim / 32). */
  mask_in_channels: number;
  controller_layers: number;
  mask_out_stride: number;
  /** Sine features per box coordinate in the decoder's positional query (hidden_dim / 2). */
  query_sine_feats_per_coord: number;
  /** GroupNorm groups of the input projection. */
  norm_groups: number;
  /** Phrase tokens: class 1 (reference) = mean of tokens [0, split), class 2 (target) = mean of [split, end). */
  phrase_split: number;
  /**
   * Encoder tokens processed at once by the FFNs and the vision side of the VL fusion (0 = all): bounds the largest
   * intermediate to token_chunk x max(dim_feedforward, vl_hidden_dim) values (64 MiB in float32 at 8192 x 2048), under
   * the 128 MiB storage-binding limit of many WebGPU devices. Results do not depend on it beyond float rounding.
   */
  token_chunk: number;
  /**
   * Build the DN label encoder `resizer` (FeatureResizer lang_dim -> hidden_dim, training only). False for exports
   * without it (readHipieConfig assumes false when a file's metadata config does not say).
   */
  dn_resizer: boolean;
  /** Build the backbone and input projection (false for decoder-only weights such as hipie_tiny). */
  with_image_encoder: boolean;
  /** ResNet sizes of the backbone (res3..res5 feed the input projection). */
  backbone: ResNetConfig;
}

export const HIPIE_R50: HipieConfig = {
  hidden_dim: 256,
  nheads: 8,
  enc_layers: 6,
  dec_layers: 6,
  dim_feedforward: 2048,
  num_queries: 100,
  num_bg_queries: 10,
  vl_hidden_dim: 2048,
  vl_heads: 8,
  lang_dim: 768,
  num_feature_levels: 4,
  enc_n_points: 4,
  dec_n_points: 4,
  num_vl_layers: 1,
  dynamic_mask_channels: 8,
  mask_in_channels: 8,
  controller_layers: 3,
  mask_out_stride: 4,
  query_sine_feats_per_coord: 128,
  norm_groups: 32,
  phrase_split: 4,
  token_chunk: 8192,
  dn_resizer: true,
  with_image_encoder: true,
  backbone: RESNET50,
};

/** A configuration that cannot build the model (or a metadata config with wrong fields). */
export class HipieConfigError extends Error {
  override readonly name = 'HipieConfigError';
}

const INT_FIELDS = [
  'hidden_dim', 'nheads', 'enc_layers', 'dec_layers', 'dim_feedforward', 'num_queries', 'num_bg_queries', 'vl_hidden_dim', 'vl_heads',
  'lang_dim', 'num_feature_levels', 'enc_n_points', 'dec_n_points', 'num_vl_layers', 'dynamic_mask_channels', 'mask_in_channels',
  'controller_layers', 'mask_out_stride', 'query_sine_feats_per_coord', 'norm_groups', 'phrase_split', 'token_chunk',
] as const;

/** Output channels of res3, res4, res5 for a ResNet config. */
export function backboneChannels(r: ResNetConfig): [number, number, number] {
  return [r.widths[1] * r.expansion, r.widths[2] * r.expansion, r.widths[3] * r.expansion];
}

/** Checks the sizes fit together; throws HipieConfigError saying which field to change. */
export function validateHipieConfig(c: HipieConfig): HipieConfig {
  for (const k of INT_FIELDS) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 0) throw new HipieConfigError(`HIPIE config field "${k}" must be a non-negative integer, got ${String(v)}`);
  }
  const must = (ok: boolean, msg: string) => {
    if (!ok) throw new HipieConfigError(`HIPIE config: ${msg}`);
  };
  must(c.hidden_dim > 0 && c.hidden_dim % c.nheads === 0, `hidden_dim ${c.hidden_dim} must be a positive multiple of nheads ${c.nheads}`);
  must(c.vl_hidden_dim % c.vl_heads === 0, `vl_hidden_dim ${c.vl_hidden_dim} must be a multiple of vl_heads ${c.vl_heads}`);
  must(c.hidden_dim % 4 === 0 && c.hidden_dim >= 32, `hidden_dim ${c.hidden_dim} must be a multiple of 4 and at least 32 (the mask head uses hidden/4 and hidden/32 channels)`);
  must(c.num_feature_levels === 4, `num_feature_levels must be 4 (res3, res4, res5 and a stride-2 level), got ${c.num_feature_levels}`);
  must(c.num_vl_layers <= c.enc_layers, `num_vl_layers ${c.num_vl_layers} exceeds enc_layers ${c.enc_layers}`);
  must(c.controller_layers === 3, `controller_layers must be 3 (three dynamic 1x1 convs), got ${c.controller_layers}`);
  must(c.mask_out_stride === 4, `mask_out_stride must be 4 (aligned bilinear x2 from stride 8), got ${c.mask_out_stride}`);
  must(c.query_sine_feats_per_coord % 2 === 0 && 4 * c.query_sine_feats_per_coord === 2 * c.hidden_dim, `query_sine_feats_per_coord must be hidden_dim / 2 (${c.hidden_dim / 2}), got ${c.query_sine_feats_per_coord}`);
  must(c.hidden_dim % 2 === 0 && (c.hidden_dim / 2) % 2 === 0, `hidden_dim / 2 must be even for the sine position embedding`);
  must(c.phrase_split > 0, 'phrase_split must be positive');
  if (c.with_image_encoder) must(c.hidden_dim % c.norm_groups === 0, `hidden_dim ${c.hidden_dim} must be a multiple of norm_groups ${c.norm_groups}`);
  return c;
}

/**
 * A config from defaults plus overrides, or from a weights file's metadata object (`about.config`: unknown keys such as
 * `prior_prob` are ignored; a missing `mask_in_channels` becomes hidden_dim / 32, a missing sine size hidden_dim / 2).
 */
export function parseHipieConfig(src: Record<string, unknown> = {}, base: HipieConfig = HIPIE_R50): HipieConfig {
  const out: Record<string, unknown> = { ...base };
  const hidden = src.hidden_dim ?? base.hidden_dim;
  if (typeof hidden !== 'number') throw new HipieConfigError(`HIPIE config field "hidden_dim" must be a number, got ${preview(hidden)}`);
  if (src.hidden_dim !== undefined) {
    out.mask_in_channels = hidden / 32;
    out.query_sine_feats_per_coord = hidden / 2;
  }
  for (const k of INT_FIELDS) {
    if (src[k] === undefined) continue;
    if (typeof src[k] !== 'number') throw new HipieConfigError(`HIPIE config field "${k}" must be a number, got ${preview(src[k])}`);
    out[k] = src[k];
  }
  if (src.vl_heads === undefined && src.nheads !== undefined) out.vl_heads = base.vl_heads;
  if (typeof src.with_image_encoder === 'boolean') out.with_image_encoder = src.with_image_encoder;
  if (typeof src.dn_resizer === 'boolean') out.dn_resizer = src.dn_resizer;
  if (src.backbone !== undefined) out.backbone = { ...base.backbone, ...(src.backbone as Partial<ResNetConfig>) };
  return validateHipieConfig(out as unknown as HipieConfig);
}

/** [start, length] pieces of `n` tokens in chunks of `chunk` (one piece when chunk is 0 or not smaller than n). */
export function tokenChunks(n: number, chunk: number): [number, number][] {
  if (chunk <= 0 || chunk >= n) return [[0, n]];
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += chunk) out.push([s, Math.min(chunk, n - s)]);
  return out;
}
