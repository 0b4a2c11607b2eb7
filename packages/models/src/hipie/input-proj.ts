/**
 * The input projection of HIPIE's Deformable DETR (segllm-reference.md 4.3; keys `input_proj.i.{0,1}.*`): levels
 * 0-2 = Conv 1x1 (res3, res4, res5 -> hidden, with bias) + GroupNorm(32); level 3 = Conv 3x3 stride 2 pad 1 on res5 +
 * GroupNorm. With the sine position embedding of each level (hidden/2 per axis), this is what encodeImage caches.
 */
import { GroupNorm, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { Conv2d, Sequential } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { ResNetFeatures } from '../resnet/modeling.ts';
import type { HipieConfig } from './config.ts';
import { backboneChannels } from './config.ts';
import { sinePositionEmbedding } from './position.ts';

/** The four `Sequential(Conv2d, GroupNorm)` projections. */
export function buildInputProjection(c: HipieConfig, opts: InitOptions = {}): Sequential[] {
  const d = c.hidden_dim;
  const [c3, c4, c5] = backboneChannels(c.backbone);
  const proj = (cin: number, k: number, stride: number) =>
    new Sequential(new Conv2d(cin, d, k, { ...opts, stride, padding: k === 3 ? 1 : 0 }), new GroupNorm(c.norm_groups, d, 1e-5, opts));
  return [proj(c3, 1, 1), proj(c4, 1, 1), proj(c5, 1, 1), proj(c5, 3, 2)];
}

/** res3..res5 -> 4 projected levels [N, hidden, h, w] (strides 8, 16, 32, 64). */
export function projectLevels(proj: readonly Sequential[], f: ResNetFeatures): Tensor[] {
  const { res3, res4, res5 } = f;
  if (!res3 || !res4 || !res5) throw new RangeError('projectLevels needs the res3, res4 and res5 features');
  return tidy(() => [proj[0].forward(res3), proj[1].forward(res4), proj[2].forward(res5), proj[3].forward(res5)]);
}

/** The sine position embedding [1, hidden, h, w] of each level, in the levels' dtype. */
export function levelPositions(srcs: readonly Tensor[], hidden: number): Tensor[] {
  return srcs.map((s) => tidy(() => sinePositionEmbedding(s.shape[2], s.shape[3], hidden / 2, { backend: s.backend }).to(s.dtype)));
}
