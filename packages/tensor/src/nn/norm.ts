/** Normalisation layers: LayerNorm, GroupNorm, RMSNorm, BatchNorm2d, FrozenBatchNorm2d (detectron2 semantics). */
import type { Tensor } from '../tensor.ts';
import { batchNorm, groupNorm, layerNorm, rmsNorm } from '../ops/index.ts';
import { copyInto } from '../ops/copy/copy.ts';
import { noGrad } from '../autograd/engine.ts';
import { tidy } from '../memory.ts';
import type { Layer } from './module.ts';
import { Module, ModuleError } from './module.ts';
import type { ParamInitOptions } from './init.ts';
import { constBuffer, constParam } from './init.ts';

export class LayerNorm extends Module implements Layer {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly normalized_shape: number[];
  constructor(
    normalizedShape: number | readonly number[],
    readonly eps = 1e-5,
    opts: ParamInitOptions & { elementwiseAffine?: boolean; bias?: boolean } = {},
  ) {
    super();
    this.normalized_shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? constParam(this.normalized_shape, 1, opts) : null;
    this.bias = affine && opts.bias !== false ? constParam(this.normalized_shape, 0, opts) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalized_shape, this.weight ?? undefined, this.bias ?? undefined, this.eps);
  }
}

export class GroupNorm extends Module implements Layer {
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(
    readonly num_groups: number,
    readonly num_channels: number,
    readonly eps = 1e-5,
    opts: ParamInitOptions & { affine?: boolean } = {},
  ) {
    super();
    if (num_channels % num_groups !== 0) throw new ModuleError(`GroupNorm: ${num_channels} channels do not split into ${num_groups} groups`);
    const affine = opts.affine ?? true;
    this.weight = affine ? constParam([num_channels], 1, opts) : null;
    this.bias = affine ? constParam([num_channels], 0, opts) : null;
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.num_groups, this.weight ?? undefined, this.bias ?? undefined, this.eps);
  }
}

/** x / sqrt(mean(x^2) + eps) * weight over the last dim (LLaMA's RMSNorm; eps 1e-6 as in LLaMA configs). */
export class RMSNorm extends Module implements Layer {
  weight: Tensor;
  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
    opts: ParamInitOptions = {},
  ) {
    super();
    this.weight = constParam([dim], 1, opts);
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/**
 * BatchNorm2d over NCHW. Eval mode normalises with the running statistics; training mode with the batch statistics
 * (biased variance) and updates the running ones (unbiased variance, `momentum`) like PyTorch.
 */
export class BatchNorm2d extends Module implements Layer {
  weight: Tensor | null;
  bias: Tensor | null;
  running_mean: Tensor;
  running_var: Tensor;
  num_batches_tracked: Tensor;
  constructor(
    readonly num_features: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
    opts: ParamInitOptions & { affine?: boolean } = {},
  ) {
    super();
    const affine = opts.affine ?? true;
    this.weight = affine ? constParam([num_features], 1, opts) : null;
    this.bias = affine ? constParam([num_features], 0, opts) : null;
    this.running_mean = constBuffer([num_features], 0, opts);
    this.running_var = constBuffer([num_features], 1, opts);
    this.num_batches_tracked = constBuffer([], 0, { backend: opts.backend, dtype: 'int32' });
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new ModuleError(`BatchNorm2d expects NCHW input, got rank ${x.rank}`);
    if (!this.training) return batchNorm(x, this.running_mean, this.running_var, this.weight ?? undefined, this.bias ?? undefined, this.eps);
    return tidy(() => {
      const c = this.num_features;
      const mean = x.mean([0, 2, 3], true); // [1, C, 1, 1]
      const varB = x.sub(mean).square().mean([0, 2, 3], true); // [1, C, 1, 1]
      let y = x.sub(mean).div(varB.add(this.eps).sqrt());
      if (this.weight) y = y.mul(this.weight.view([1, c, 1, 1]));
      if (this.bias) y = y.add(this.bias.view([1, c, 1, 1]));
      noGrad(() => {
        const n = x.numel / c;
        const m = this.momentum;
        copyInto(this.running_mean, this.running_mean.mul(1 - m).add(mean.reshape([c]).mul(m)));
        copyInto(this.running_var, this.running_var.mul(1 - m).add(varB.reshape([c]).mul((m * n) / Math.max(1, n - 1))));
        copyInto(this.num_batches_tracked, this.num_batches_tracked.add(1));
      });
      return y;
    });
  }
}

/**
 * BatchNorm2d with fixed statistics and affine parameters, all buffers (detectron2's FrozenBatchNorm2d):
 * y = x * scale + (bias - running_mean * scale), scale = weight * rsqrt(running_var + eps). Checkpoints'
 * `num_batches_tracked` keys are accepted and ignored.
 */
export class FrozenBatchNorm2d extends Module implements Layer {
  weight: Tensor;
  bias: Tensor;
  running_mean: Tensor;
  running_var: Tensor;
  constructor(
    readonly num_features: number,
    readonly eps = 1e-5,
    opts: ParamInitOptions = {},
  ) {
    super();
    this.weight = constBuffer([num_features], 1, opts);
    this.bias = constBuffer([num_features], 0, opts);
    this.running_mean = constBuffer([num_features], 0, opts);
    this.running_var = constBuffer([num_features], 1, opts);
  }
  protected override ignoredStateKeys(): readonly string[] {
    return ['num_batches_tracked'];
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const c = this.num_features;
      const scale = this.weight.mul(this.running_var.add(this.eps).rsqrt()); // [C]
      const shift = this.bias.sub(this.running_mean.mul(scale)); // [C]
      const shape = x.rank === 4 ? [1, c, 1, 1] : [1, c];
      return x.mul(scale.reshape(shape)).add(shift.reshape(shape));
    });
  }
}
