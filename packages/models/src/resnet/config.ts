/** ResNet bottleneck backbone configuration, and inferring it from a checkpoint's tensor shapes. */

export interface ResNetConfig {
  in_channels: number;
  /** Stem conv output channels (64 for ResNet-50). */
  stem_out_channels: number;
  /** Bottleneck blocks per stage res2..res5 ([3, 4, 6, 3] for ResNet-50). */
  depths: [number, number, number, number];
  /** Bottleneck widths per stage ([64, 128, 256, 512]); stage outputs are width * expansion. */
  widths: [number, number, number, number];
  expansion: number;
  /** FrozenBatchNorm eps. */
  norm_eps: number;
  /** Stride in the 1x1 conv (detectron2 MSRA / Caffe style) instead of the 3x3 (torchvision style, the default). */
  stride_in_1x1: boolean;
  /** Classifier classes of the torchvision layout (`fc`); 0 for none. */
  num_classes: number;
}

/** ResNet-50 (torchvision / detectron2 R-50 as HIPIE uses it: stride in the 3x3, FrozenBN eps 1e-5). */
export const RESNET50: ResNetConfig = {
  in_channels: 3,
  stem_out_channels: 64,
  depths: [3, 4, 6, 3],
  widths: [64, 128, 256, 512],
  expansion: 4,
  norm_eps: 1e-5,
  stride_in_1x1: false,
  num_classes: 0,
};

/** A checkpoint whose keys do not describe a bottleneck ResNet in either layout. */
export class ResNetConfigError extends Error {
  override readonly name = 'ResNetConfigError';
}

export type ResNetLayout = 'torchvision' | 'detectron2';

/**
 * Infers layout and sizes from tensor shapes by checkpoint key (after any prefix): torchvision (`conv1.weight`,
 * `layer1.0.conv1.weight`, `fc.weight`) or detectron2 (`stem.conv1.weight`, `res2.0.conv1.weight`).
 */
export function inferResNetConfig(shapes: ReadonlyMap<string, readonly number[]>): { layout: ResNetLayout; config: ResNetConfig } {
  const layout: ResNetLayout | null = shapes.has('conv1.weight') ? 'torchvision' : shapes.has('stem.conv1.weight') ? 'detectron2' : null;
  if (layout === null) {
    throw new ResNetConfigError(`no stem convolution found (neither "conv1.weight" nor "stem.conv1.weight" among ${shapes.size} keys): strip the checkpoint's key prefix first`);
  }
  const stage = (i: number) => (layout === 'torchvision' ? `layer${i + 1}` : `res${i + 2}`);
  const stemW = shapes.get(layout === 'torchvision' ? 'conv1.weight' : 'stem.conv1.weight')!;
  const depths: number[] = [];
  const widths: number[] = [];
  let expansion = 4;
  for (let i = 0; i < 4; i++) {
    let n = 0;
    while (shapes.has(`${stage(i)}.${n}.conv1.weight`)) n++;
    if (n === 0) throw new ResNetConfigError(`stage ${stage(i)} has no blocks (no "${stage(i)}.0.conv1.weight")`);
    depths.push(n);
    widths.push(shapes.get(`${stage(i)}.0.conv1.weight`)![0]);
    const c3 = shapes.get(`${stage(i)}.0.conv3.weight`);
    if (!c3) throw new ResNetConfigError(`"${stage(i)}.0.conv3.weight" is missing: only bottleneck blocks are supported`);
    expansion = c3[0] / widths[i];
  }
  const fc = shapes.get('fc.weight');
  return {
    layout,
    config: {
      in_channels: stemW[1],
      stem_out_channels: stemW[0],
      depths: depths as ResNetConfig['depths'],
      widths: widths as ResNetConfig['widths'],
      expansion,
      norm_eps: 1e-5,
      stride_in_1x1: false,
      num_classes: layout === 'torchvision' && fc ? fc[0] : 0,
    },
  };
}

/** torchvision key -> detectron2 key (null for the classifier, which detectron2 backbones lack). */
export function torchvisionToDetectron2Key(key: string): string | null {
  if (key.startsWith('fc.')) return null;
  let m = /^conv1\.(.+)$/.exec(key);
  if (m) return `stem.conv1.${m[1]}`;
  m = /^bn1\.(.+)$/.exec(key);
  if (m) return `stem.conv1.norm.${m[1]}`;
  m = /^layer(\d)\.(\d+)\.(.+)$/.exec(key);
  if (!m) return key;
  const head = `res${Number(m[1]) + 1}.${m[2]}`;
  const rest = m[3];
  let r = /^conv(\d)\.(.+)$/.exec(rest);
  if (r) return `${head}.conv${r[1]}.${r[2]}`;
  r = /^bn(\d)\.(.+)$/.exec(rest);
  if (r) return `${head}.conv${r[1]}.norm.${r[2]}`;
  r = /^downsample\.0\.(.+)$/.exec(rest);
  if (r) return `${head}.shortcut.${r[1]}`;
  r = /^downsample\.1\.(.+)$/.exec(rest);
  if (r) return `${head}.shortcut.norm.${r[1]}`;
  return key;
}

/** detectron2 key -> torchvision key (the inverse of torchvisionToDetectron2Key). */
export function detectron2ToTorchvisionKey(key: string): string {
  let m = /^stem\.conv1\.norm\.(.+)$/.exec(key);
  if (m) return `bn1.${m[1]}`;
  m = /^stem\.conv1\.(.+)$/.exec(key);
  if (m) return `conv1.${m[1]}`;
  m = /^res(\d)\.(\d+)\.(.+)$/.exec(key);
  if (!m) return key;
  const head = `layer${Number(m[1]) - 1}.${m[2]}`;
  const rest = m[3];
  let r = /^conv(\d)\.norm\.(.+)$/.exec(rest);
  if (r) return `${head}.bn${r[1]}.${r[2]}`;
  r = /^conv(\d)\.(.+)$/.exec(rest);
  if (r) return `${head}.conv${r[1]}.${r[2]}`;
  r = /^shortcut\.norm\.(.+)$/.exec(rest);
  if (r) return `${head}.downsample.1.${r[1]}`;
  r = /^shortcut\.(.+)$/.exec(rest);
  if (r) return `${head}.downsample.0.${r[1]}`;
  return key;
}
