/**
 * The deformable encoder with vision-language early fusion (DeformableTransformerEncoderVL; segllm-reference.md 4.4,
 * 4.5). Keys: `vl_layers.i.b_attn.*` (only the first num_vl_layers hold a block; the rest are Identity, no keys) and
 * `layers.i.{self_attn, norm1, linear1, linear2, norm2}`. Post-norm layers:
 * x = LN1(x + MSDeformAttn(x + pos, cell-centre refs, x)); x = LN2(x + W2 ReLU(W1 x)).
 */
import { cat, tensor, tidy } from '@segllm/tensor';
import type { Backend, Dropout, Tensor } from '@segllm/tensor';
import { LayerNorm, Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { HipieConfig } from './config.ts';
import { tokenChunks } from './config.ts';
import { MSDeformAttn } from './msdeform.ts';
import type { SpatialShapes } from './msdeform.ts';
import { VLFuse } from './vl-fusion.ts';

export class EncoderLayer extends Module {
  self_attn: MSDeformAttn;
  norm1: LayerNorm;
  linear1: Linear;
  linear2: Linear;
  norm2: LayerNorm;
  readonly #chunk: number;
  constructor(c: HipieConfig, opts: InitOptions = {}) {
    super();
    const d = c.hidden_dim;
    this.#chunk = c.token_chunk;
    this.self_attn = new MSDeformAttn(d, c.num_feature_levels, c.nheads, c.enc_n_points, opts);
    this.norm1 = new LayerNorm(d, 1e-5, opts);
    this.linear1 = new Linear(d, c.dim_feedforward, opts);
    this.linear2 = new Linear(c.dim_feedforward, d, opts);
    this.norm2 = new LayerNorm(d, 1e-5, opts);
  }
  /** src, pos [N, S, C], ref [N, S, L, 2] -> [N, S, C]. */
  forward(src: Tensor, pos: Tensor, ref: Tensor, shapes: SpatialShapes): Tensor {
    return tidy(() => {
      const x = this.norm1.forward(src.add(this.self_attn.forward(src.add(pos), ref, src, shapes)));
      const pieces = tokenChunks(x.shape[1], this.#chunk).map(([s0, n]) =>
        tidy(() => {
          const xc = x.narrow(1, s0, n); // [N, n, C]
          return this.norm2.forward(xc.add(this.linear2.forward(this.linear1.forward(xc).relu())));
        }),
      );
      return pieces.length === 1 ? pieces[0] : cat(pieces, 1);
    });
  }
}

/** Encoder reference points [1, S, L, 2]: the (x, y) cell centres of every level, the same for all L levels. */
export function encoderReferencePoints(shapes: SpatialShapes, backend?: string | Backend): Tensor {
  const L = shapes.length;
  const S = shapes.reduce((n, [h, w]) => n + h * w, 0);
  const out = new Float32Array(S * L * 2);
  let s = 0;
  for (const [h, w] of shapes) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++, s++) {
        const x = Math.fround((j + 0.5) / w);
        const y = Math.fround((i + 0.5) / h);
        for (let l = 0; l < L; l++) {
          out[(s * L + l) * 2] = x;
          out[(s * L + l) * 2 + 1] = y;
        }
      }
    }
  }
  return tensor(out, { shape: [1, S, L, 2], backend });
}

export class DeformableEncoder extends Module {
  vl_layers: VLFuse[];
  layers: EncoderLayer[];
  constructor(c: HipieConfig, opts: InitOptions = {}) {
    super();
    this.vl_layers = Array.from({ length: c.num_vl_layers }, () => new VLFuse(c.hidden_dim, c.lang_dim, c.vl_hidden_dim, c.vl_heads, { ...opts, tokenChunk: c.token_chunk }));
    this.layers = Array.from({ length: c.enc_layers }, () => new EncoderLayer(c, opts));
  }
  /** src, pos [N, S, C], lang [N, T, Cl] -> {memory [N, S, C], lang: fused [N, T, Cl]}; drop: the fusion's (training). */
  forward(src: Tensor, pos: Tensor, lang: Tensor, shapes: SpatialShapes, drop: Dropout | null = null): { memory: Tensor; lang: Tensor } {
    return tidy(() => {
      const ref = encoderReferencePoints(shapes, src.backend).to(src.dtype); // [1, S, L, 2]
      const refN = src.shape[0] === 1 ? ref : ref.expand([src.shape[0], ...ref.shape.slice(1)]);
      let v = src;
      let l = lang;
      this.layers.forEach((layer, i) => {
        const fuse = this.vl_layers.at(i);
        if (fuse) [v, l] = fuse.forward(v, l, drop);
        v = layer.forward(v, pos, refN, shapes);
      });
      return { memory: v, lang: l === lang ? lang.clone() : l };
    });
  }
}
