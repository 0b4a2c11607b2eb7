/** Conv2d (NCHW; weight [out, in/groups, kh, kw]; PyTorch's default initialisation). */
import type { Tensor } from '../tensor.ts';
import { conv2d } from '../ops/index.ts';
import type { Layer } from './module.ts';
import { Module, ModuleError } from './module.ts';
import type { ParamInitOptions } from './init.ts';
import { uniformParam } from './init.ts';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface Conv2dLayerOptions extends ParamInitOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module implements Layer {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernel_size: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(
    readonly in_channels: number,
    readonly out_channels: number,
    kernelSize: Pair,
    opts: Conv2dLayerOptions = {},
  ) {
    super();
    this.kernel_size = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    if (in_channels % this.groups || out_channels % this.groups) {
      throw new ModuleError(`Conv2d: ${in_channels} in and ${out_channels} out channels must both divide into ${this.groups} groups`);
    }
    const fanIn = (in_channels / this.groups) * this.kernel_size[0] * this.kernel_size[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = uniformParam([out_channels, in_channels / this.groups, ...this.kernel_size], bound, opts);
    this.bias = opts.bias === false ? null : uniformParam([out_channels], bound, opts);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias ?? undefined, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
