/**
 * MSDeformAttn, the multi-scale deformable attention module of Deformable DETR (segllm-reference.md 4.5), on the
 * `msDeformAttn` core of @segllm/tensor. Keys: sampling_offsets, attention_weights, value_proj, output_proj.
 * 2-D references: loc = ref + offset / (W_l, H_l); 4-D references (cx, cy, w, h): loc = ref_xy + offset / P * ref_wh * 0.5.
 */
import { msDeformAttn, softmax, tensor, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { Linear, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';

export type SpatialShapes = readonly (readonly [number, number])[];

export class MSDeformAttn extends Module {
  sampling_offsets: Linear;
  attention_weights: Linear;
  value_proj: Linear;
  output_proj: Linear;
  constructor(
    readonly d_model: number,
    readonly n_levels: number,
    readonly n_heads: number,
    readonly n_points: number,
    opts: InitOptions = {},
  ) {
    super();
    this.sampling_offsets = new Linear(d_model, n_heads * n_levels * n_points * 2, opts);
    this.attention_weights = new Linear(d_model, n_heads * n_levels * n_points, opts);
    this.value_proj = new Linear(d_model, d_model, opts);
    this.output_proj = new Linear(d_model, d_model, opts);
  }

  /** query [N, Lq, C], ref [N, Lq, L, 2 | 4], input [N, S, C] -> [N, Lq, C]. */
  forward(query: Tensor, ref: Tensor, input: Tensor, shapes: SpatialShapes): Tensor {
    return tidy(() => {
      const [N, Lq] = query.shape;
      const S = input.shape[1];
      const M = this.n_heads;
      const L = this.n_levels;
      const P = this.n_points;
      const value = this.value_proj.forward(input).reshape([N, S, M, this.d_model / M]); // [N, S, M, D]
      const off = this.sampling_offsets.forward(query).reshape([N, Lq, M, L, P, 2]); // [N, Lq, M, L, P, 2]
      const aw = softmax(this.attention_weights.forward(query).reshape([N, Lq, M, L * P]), -1).reshape([N, Lq, M, L, P]); // [N, Lq, M, L, P]
      let loc: Tensor; // [N, Lq, M, L, P, 2]
      if (ref.shape[3] === 2) {
        const norm = tensor(shapes.flatMap(([h, w]) => [w, h]), { shape: [1, 1, 1, L, 1, 2], backend: query.backend, dtype: query.dtype }); // (W, H) per level
        loc = ref.reshape([N, Lq, 1, L, 1, 2]).add(off.div(norm));
      } else {
        const xy = ref.narrow(3, 0, 2).reshape([N, Lq, 1, L, 1, 2]);
        const wh = ref.narrow(3, 2, 2).reshape([N, Lq, 1, L, 1, 2]);
        loc = xy.add(off.div(P).mul(wh).mul(0.5));
      }
      return this.output_proj.forward(msDeformAttn(value, shapes, loc, aw)); // [N, Lq, C]
    });
  }
}
