/** Builders and checkpoint loading for the ResNet backbones. */
import type { TensorStore } from '@segllm/tensor';
import type { InitOptions } from '../nn.ts';
import { loadCheckpoint } from '../checkpoint/load.ts';
import type { LoadCheckpointReport } from '../checkpoint/load.ts';
import { RESNET50 } from './config.ts';
import type { ResNetConfig } from './config.ts';
import { D2ResNet, TorchvisionResNet } from './modeling.ts';

/** Where SegLLM checkpoints keep HIPIE's backbone (and bare detectron2 / torchvision exports: none). */
export const HIPIE_BACKBONE_PREFIXES = ['model.segmentator.hipie.detr.detr.backbone.0.backbone.', 'detr.backbone.0.backbone.', 'backbone.', ''] as const;

/** The detectron2-layout ResNet-50 that HIPIE's decoder uses (res2..res5, stride in the 3x3, FrozenBN eps 1e-5). */
export function buildResNet50D2(opts: InitOptions = {}, overrides: Partial<ResNetConfig> = {}): D2ResNet {
  return new D2ResNet({ ...RESNET50, ...overrides }, opts);
}

/** torchvision's resnet50 (without the classifier unless num_classes is given). */
export function buildResNet50(opts: InitOptions = {}, overrides: Partial<ResNetConfig> = {}): TorchvisionResNet {
  return new TorchvisionResNet({ ...RESNET50, ...overrides }, opts);
}

/** Loads backbone weights in the model's own layout (pass `rename` to convert between layouts). */
export function loadResNet(
  model: D2ResNet | TorchvisionResNet,
  source: string | TensorStore,
  o: { strict?: boolean; rename?: (key: string) => string | null; prefixes?: readonly string[] } = {},
): Promise<LoadCheckpointReport> {
  return loadCheckpoint(model, source, { prefixes: o.prefixes ?? HIPIE_BACKBONE_PREFIXES, strict: o.strict, rename: o.rename });
}
