/**
 * Bottleneck ResNet backbones with FrozenBatchNorm, in two module trees over the same computation:
 * - torchvision (`conv1`, `bn1`, `layer1.0.{conv1,bn1,conv2,bn2,conv3,bn3,downsample.0,downsample.1}`, `fc`);
 * - detectron2 as HIPIE stores it (`stem.conv1` with `.norm`, `res2.0.{conv1,conv2,conv3,shortcut}` each with
 *   `.norm`), whose Conv2d owns its norm.
 * Stem: conv 7x7/2 + norm + relu + maxpool 3x3/2; block: 1x1, 3x3 (stride here unless stride_in_1x1), 1x1 with
 * expansion, projection shortcut where the shape changes, relu after the sum. Outputs res2..res5 (strides 4..32).
 */
import { maxPool2d, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { Conv2d, FrozenBatchNorm2d, Linear, Module, Sequential } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import type { ResNetConfig } from './config.ts';

export type ResNetFeatureName = 'stem' | 'res2' | 'res3' | 'res4' | 'res5';

/** Requested feature maps [B, C, H/s, W/s]: stem (s 4, after maxpool), res2 (4), res3 (8), res4 (16), res5 (32). */
export type ResNetFeatures = Partial<Record<ResNetFeatureName, Tensor>>;

const STAGES = ['res2', 'res3', 'res4', 'res5'] as const;

/** Per-stage block specs: [in, width, out, stride] for each block. */
function blockSpecs(c: ResNetConfig): [number, number, number, number][][] {
  let inCh = c.stem_out_channels;
  return c.depths.map((n, s) => {
    const width = c.widths[s];
    const out = width * c.expansion;
    return Array.from({ length: n }, (_, b) => {
      const spec: [number, number, number, number] = [inCh, width, out, b === 0 && s > 0 ? 2 : 1];
      inCh = out;
      return spec;
    });
  });
}

function stem(x: Tensor, conv: (x: Tensor) => Tensor): Tensor {
  return tidy(() => maxPool2d(conv(x).relu(), { kernelSize: 3, stride: 2, padding: 1 })); // [B, C, H/4, W/4]
}

/** Runs the stages up to the last requested one, disposing intermediate maps that are not requested. */
function runStages(h0: Tensor, stages: { forward(x: Tensor): Tensor }[][], outFeatures: readonly ResNetFeatureName[], out: ResNetFeatures): ResNetFeatures {
  const last = Math.max(-1, ...STAGES.map((n, i) => (outFeatures.includes(n) ? i : -1)));
  let h = h0;
  const held = () => Object.values(out).includes(h);
  for (let s = 0; s <= last; s++) {
    for (const b of stages[s]) {
      const next = b.forward(h); // [B, C_s, H/2^(s+2), W/2^(s+2)]
      if (!held()) h.dispose();
      h = next;
    }
    if (outFeatures.includes(STAGES[s])) out[STAGES[s]] = h;
  }
  if (!held()) h.dispose();
  return out;
}

// ------------------------------------------------------------------ torchvision layout

export class TorchvisionBottleneck extends Module {
  conv1: Conv2d;
  bn1: FrozenBatchNorm2d;
  conv2: Conv2d;
  bn2: FrozenBatchNorm2d;
  conv3: Conv2d;
  bn3: FrozenBatchNorm2d;
  downsample: Sequential | null;
  constructor(cfg: ResNetConfig, [inCh, width, out, stride]: [number, number, number, number], opts: InitOptions = {}) {
    super();
    const [s1, s3] = cfg.stride_in_1x1 ? [stride, 1] : [1, stride];
    const eps = cfg.norm_eps;
    this.conv1 = new Conv2d(inCh, width, 1, { ...opts, stride: s1, bias: false });
    this.bn1 = new FrozenBatchNorm2d(width, eps, opts);
    this.conv2 = new Conv2d(width, width, 3, { ...opts, stride: s3, padding: 1, bias: false });
    this.bn2 = new FrozenBatchNorm2d(width, eps, opts);
    this.conv3 = new Conv2d(width, out, 1, { ...opts, bias: false });
    this.bn3 = new FrozenBatchNorm2d(out, eps, opts);
    this.downsample = stride !== 1 || inCh !== out ? new Sequential(new Conv2d(inCh, out, 1, { ...opts, stride, bias: false }), new FrozenBatchNorm2d(out, eps, opts)) : null;
  }
  /** [B, in, H, W] -> [B, out, H/stride, W/stride]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = this.bn1.forward(this.conv1.forward(x)).relu();
      y = this.bn2.forward(this.conv2.forward(y)).relu();
      y = this.bn3.forward(this.conv3.forward(y));
      return y.add(this.downsample ? this.downsample.forward(x) : x).relu();
    });
  }
}

/** torchvision.models.ResNet with Bottleneck blocks (eval mode; BatchNorm frozen). */
export class TorchvisionResNet extends Module {
  conv1: Conv2d;
  bn1: FrozenBatchNorm2d;
  layer1: TorchvisionBottleneck[];
  layer2: TorchvisionBottleneck[];
  layer3: TorchvisionBottleneck[];
  layer4: TorchvisionBottleneck[];
  fc: Linear | null;
  constructor(readonly config: ResNetConfig, opts: InitOptions = {}) {
    super();
    this.conv1 = new Conv2d(config.in_channels, config.stem_out_channels, 7, { ...opts, stride: 2, padding: 3, bias: false });
    this.bn1 = new FrozenBatchNorm2d(config.stem_out_channels, config.norm_eps, opts);
    const [l1, l2, l3, l4] = blockSpecs(config).map((stage) => stage.map((spec) => new TorchvisionBottleneck(config, spec, opts)));
    this.layer1 = l1;
    this.layer2 = l2;
    this.layer3 = l3;
    this.layer4 = l4;
    this.fc = config.num_classes > 0 ? new Linear(config.widths[3] * config.expansion, config.num_classes, opts) : null;
  }
  /** x [B, C, H, W] -> the requested feature maps (default res2..res5). */
  forward(x: Tensor, outFeatures: readonly ResNetFeatureName[] = STAGES): ResNetFeatures {
    const out: ResNetFeatures = {};
    const h = stem(x, (t) => this.bn1.forward(this.conv1.forward(t)));
    if (outFeatures.includes('stem')) out.stem = h;
    return runStages(h, [this.layer1, this.layer2, this.layer3, this.layer4], outFeatures, out);
  }
  /** Global average pool + fc: x [B, C, H, W] -> logits [B, num_classes]. */
  classify(x: Tensor): Tensor {
    if (!this.fc) throw new TypeError('this ResNet has no classifier (num_classes 0)');
    const { res5 } = this.forward(x, ['res5']);
    const logits = tidy(() => this.fc!.forward(res5!.mean([2, 3])));
    res5!.dispose();
    return logits;
  }
}

// ------------------------------------------------------------------ detectron2 layout

/** detectron2's Conv2d wrapper: a convolution that owns its `norm` (keys `conv1.weight`, `conv1.norm.*`). */
export class D2Conv2d extends Conv2d {
  norm: FrozenBatchNorm2d;
  constructor(inCh: number, outCh: number, k: number, o: InitOptions & { stride?: number; padding?: number; eps: number }) {
    super(inCh, outCh, k, { ...o, bias: false });
    this.norm = new FrozenBatchNorm2d(outCh, o.eps, o);
  }
  override forward(x: Tensor): Tensor {
    return tidy(() => this.norm.forward(super.forward(x)));
  }
}

export class D2BottleneckBlock extends Module {
  shortcut: D2Conv2d | null;
  conv1: D2Conv2d;
  conv2: D2Conv2d;
  conv3: D2Conv2d;
  constructor(cfg: ResNetConfig, [inCh, width, out, stride]: [number, number, number, number], opts: InitOptions = {}) {
    super();
    const [s1, s3] = cfg.stride_in_1x1 ? [stride, 1] : [1, stride];
    const eps = cfg.norm_eps;
    this.shortcut = stride !== 1 || inCh !== out ? new D2Conv2d(inCh, out, 1, { ...opts, stride, eps }) : null;
    this.conv1 = new D2Conv2d(inCh, width, 1, { ...opts, stride: s1, eps });
    this.conv2 = new D2Conv2d(width, width, 3, { ...opts, stride: s3, padding: 1, eps });
    this.conv3 = new D2Conv2d(width, out, 1, { ...opts, eps });
  }
  /** [B, in, H, W] -> [B, out, H/stride, W/stride]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = this.conv1.forward(x).relu();
      y = this.conv2.forward(y).relu();
      y = this.conv3.forward(y);
      return y.add(this.shortcut ? this.shortcut.forward(x) : x).relu();
    });
  }
}

export class D2BasicStem extends Module {
  conv1: D2Conv2d;
  constructor(cfg: ResNetConfig, opts: InitOptions = {}) {
    super();
    this.conv1 = new D2Conv2d(cfg.in_channels, cfg.stem_out_channels, 7, { ...opts, stride: 2, padding: 3, eps: cfg.norm_eps });
  }
  /** [B, C, H, W] -> [B, stem, H/4, W/4]. */
  forward(x: Tensor): Tensor {
    return stem(x, (t) => this.conv1.forward(t));
  }
}

/** detectron2's ResNet backbone (the HIPIE R-50 layout). */
export class D2ResNet extends Module {
  stem: D2BasicStem;
  res2: D2BottleneckBlock[];
  res3: D2BottleneckBlock[];
  res4: D2BottleneckBlock[];
  res5: D2BottleneckBlock[];
  constructor(readonly config: ResNetConfig, opts: InitOptions = {}) {
    super();
    this.stem = new D2BasicStem(config, opts);
    const [a, b, c, d] = blockSpecs(config).map((stage) => stage.map((spec) => new D2BottleneckBlock(config, spec, opts)));
    this.res2 = a;
    this.res3 = b;
    this.res4 = c;
    this.res5 = d;
  }
  /** x [B, C, H, W] -> the requested feature maps (default res2..res5; HIPIE uses res3..res5). */
  forward(x: Tensor, outFeatures: readonly ResNetFeatureName[] = STAGES): ResNetFeatures {
    const out: ResNetFeatures = {};
    const h = this.stem.forward(x);
    if (outFeatures.includes('stem')) out.stem = h;
    return runStages(h, [this.res2, this.res3, this.res4, this.res5], outFeatures, out);
  }
}
