export {
  RESNET50, ResNetConfigError, inferResNetConfig, torchvisionToDetectron2Key, detectron2ToTorchvisionKey,
  type ResNetConfig, type ResNetLayout,
} from './config.ts';
export {
  TorchvisionResNet, TorchvisionBottleneck, D2ResNet, D2BottleneckBlock, D2BasicStem, D2Conv2d,
  type ResNetFeatures, type ResNetFeatureName,
} from './modeling.ts';
export { buildResNet50, buildResNet50D2, loadResNet, HIPIE_BACKBONE_PREFIXES } from './build.ts';
