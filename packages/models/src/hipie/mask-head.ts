/**
 * The CondInst dynamic mask branch (segllm-reference.md 4.7): MaskHeadSmallConv on the encoder memory of levels 0-2
 * (keys lay1, lay2, lay3, lay4, jia_dcn; all 3x3 convs), per-query dynamic 1x1 convs on [relative coords in pixels,
 * mask features], and aligned-bilinear x2 upsampling from stride 8 to stride 4.
 */
import { cat, interpolate, pad, tensor, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { Conv2d, Module } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { HipieConfig } from './config.ts';
import type { SpatialShapes } from './msdeform.ts';

export class MaskHeadSmallConv extends Module {
  lay1: Conv2d;
  lay2: Conv2d;
  lay3: Conv2d;
  lay4: Conv2d;
  jia_dcn: Conv2d;
  constructor(dim: number, opts: InitOptions = {}) {
    super();
    const o = { ...opts, padding: 1 };
    this.lay1 = new Conv2d(dim, dim / 4, 3, o);
    this.lay2 = new Conv2d(dim / 4, dim / 32, 3, o);
    this.lay3 = new Conv2d(dim, dim, 3, o);
    this.lay4 = new Conv2d(dim, dim, 3, o);
    this.jia_dcn = new Conv2d(dim, dim, 3, o);
  }
  /** feats [F8, F16, F32], each [N, C, h, w] -> mask features [N, C/32, h8, w8]. */
  forward(feats: readonly [Tensor, Tensor, Tensor]): Tensor {
    return tidy(() => {
      const [f8, f16, f32] = feats;
      const up = (x: Tensor, to: Tensor) => interpolate(x, { size: [to.shape[2], to.shape[3]], mode: 'nearest' });
      let x = this.lay3.forward(f32).relu();
      x = this.lay4.forward(f16.add(up(x, f16))).relu();
      x = this.jia_dcn.forward(f8.add(up(x, f8))).relu();
      x = this.lay1.forward(x).relu();
      return this.lay2.forward(x).relu();
    });
  }
}

/** Memory [N, S, C] -> the maps of the first `n` levels, each [N, C, h, w]. */
export function memoryLevels(memory: Tensor, shapes: SpatialShapes, n: number): Tensor[] {
  const [N, , C] = memory.shape;
  const out: Tensor[] = [];
  let start = 0;
  for (const [h, w] of shapes.slice(0, n)) {
    out.push(tidy(() => memory.narrow(1, start, h * w).reshape([N, h, w, C]).permute([0, 3, 1, 2]).contiguous()));
    start += h * w;
  }
  return out;
}

/**
 * aligned_bilinear(x, factor): replicate-pad right/bottom by 1, bilinear (align_corners) to (f h + 1, f w + 1),
 * replicate-pad left/top by f/2 (integer), crop to (f h, f w). x [N, C, h, w].
 */
export function alignedBilinear(x: Tensor, factor: number): Tensor {
  if (factor === 1) return x.view(x.shape);
  return tidy(() => {
    const [, , h, w] = x.shape;
    const p = pad(x, [0, 1, 0, 1], 'replicate');
    const up = interpolate(p, { size: [factor * h + 1, factor * w + 1], mode: 'bilinear', alignCorners: true });
    const half = Math.floor(factor / 2);
    const q = pad(up, [half, 0, half, 0], 'replicate');
    return q.narrow(2, 0, factor * h).narrow(3, 0, factor * w).contiguous();
  });
}

/** Sizes of the dynamic parameters: weights then biases per layer (CondInst, with relative coordinates). */
export function dynamicParamSizes(c: HipieConfig): { weights: number[]; biases: number[]; total: number } {
  const ch = c.dynamic_mask_channels;
  const weights = [(c.mask_in_channels + 2) * ch, ch * ch, ch];
  const biases = [ch, ch, 1];
  return { weights, biases, total: [...weights, ...biases].reduce((a, b) => a + b, 0) };
}

/**
 * Dynamic mask logits. maskFeats [1, Cm, H, W] (stride `stride`), refPx [Q, 2] query centres in pixels (x, y),
 * params [Q, P] -> [Q, 1, 2H, 2W] logits at stride / 2. Input per query: [ref - location (x, y), features], with
 * locations (stride j + stride/2, stride i + stride/2); three 1x1 convs Cm+2 -> ch -> ch -> 1 with ReLU between.
 */
export function dynamicMaskLogits(maskFeats: Tensor, refPx: Tensor, params: Tensor, c: HipieConfig, stride = 8): Tensor {
  return tidy(() => {
    const [, Cm, H, W] = maskFeats.shape;
    const Q = refPx.shape[0];
    const ch = c.dynamic_mask_channels;
    const loc = new Float32Array(2 * H * W);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        loc[i * W + j] = j * stride + Math.floor(stride / 2);
        loc[H * W + i * W + j] = i * stride + Math.floor(stride / 2);
      }
    }
    const locT = tensor(loc, { shape: [1, 2, H * W], backend: maskFeats.backend, dtype: maskFeats.dtype }); // [1, 2, HW]
    const rel = refPx.unsqueeze(-1).sub(locT); // [Q, 2, HW]
    const feats = maskFeats.reshape([1, Cm, H * W]).expand([Q, Cm, H * W]); // [Q, Cm, HW]
    let x = cat([rel, feats], 1); // [Q, Cm + 2, HW]
    const { weights, biases } = dynamicParamSizes(c);
    const parts = params.split([...weights, ...biases], 1);
    const outs = [ch, ch, 1];
    for (let l = 0; l < 3; l++) {
      const wt = parts[l].reshape([Q, outs[l], weights[l] / outs[l]]); // [Q, out, in]
      const b = parts[3 + l].reshape([Q, outs[l], 1]); // [Q, out, 1]
      x = wt.matmul(x).add(b); // [Q, out, HW]
      if (l < 2) x = x.relu();
    }
    return alignedBilinear(x.reshape([Q, 1, H, W]), stride / c.mask_out_stride); // [Q, 1, 2H, 2W]
  });
}
