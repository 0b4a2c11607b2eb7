/** Paths and tolerances of the HIPIE tests (fixtures in ./fixtures/hipie, see LICENSE-NOTES.md there). */
import { fileURLToPath } from 'node:url';
import type { Tolerance } from '@segllm/tensor/testing';
import { parseHipieConfig } from '../src/index.ts';
import type { HipieConfig } from '../src/index.ts';

export const hipieFixture = (name: string): string => fileURLToPath(new URL(`./fixtures/hipie/${name}`, import.meta.url));
export const TINY_WEIGHTS = hipieFixture('hipie_tiny.weights.safetensors');
export const TINY_IO = hipieFixture('hipie_tiny.io.safetensors');

/** The whole decoder at about 1e-4 (relative and absolute), as the issue asks. */
export const DECODER_TOL: Tolerance = { rtol: 1e-4, atol: 1e-4 };

/** The tiny random configuration: hidden 32, 2 heads, 2 + 2 layers, 20 queries; a tiny detectron2 ResNet. */
export function tinyRandomConfig(): HipieConfig {
  return parseHipieConfig({
    hidden_dim: 32, nheads: 2, enc_layers: 2, dec_layers: 2, dim_feedforward: 64, num_queries: 20, num_bg_queries: 4,
    vl_hidden_dim: 64, vl_heads: 2, lang_dim: 48, norm_groups: 8,
    backbone: { stem_out_channels: 8, depths: [1, 1, 1, 1], widths: [4, 8, 16, 32] },
  });
}
