/**
 * The HIPIE decoder module tree, named as the checkpoint keys below `model.segmentator.hipie.detr.`:
 * `detr.backbone.0.backbone.*` (detectron2 ResNet-50), `detr.input_proj.i.{0,1}.*`, `detr.transformer.*`,
 * `detr.class_embed.i.*` (VL_Align per decoder layer, then the encoder's Still_Classifier), `detr.bbox_embed.i.*`,
 * `detr.iou_head.i.*`, `controller.*`, `mask_head.*`, and the DN label encoder `resizer.*` (training only).
 *
 * `encodeImage` (backbone + input projection + position embeddings) runs once per batch of images; `decode` (fusion
 * onwards, batch 1, inference) runs once per phrase-token set, because SegLLM decodes several rounds against one
 * image. `forwardTrain` (train.ts) is the training forward over a batch.
 */
import { Linear, MLP, cat, tidy } from '@segllm/tensor';
import type { DType, Tensor } from '@segllm/tensor';
import { Module } from '../nn.ts';
import type { Sequential } from '../nn.ts';
import type { InitOptions } from '../nn.ts';
import { D2ResNet } from '../resnet/modeling.ts';
import type { HipieConfig } from './config.ts';
import { HipieConfigError, validateHipieConfig } from './config.ts';
import { StillClassifier, VLAlign } from './heads.ts';
import { MaskHeadSmallConv, dynamicMaskLogits, dynamicParamSizes, memoryLevels } from './mask-head.ts';
import { buildInputProjection, levelPositions, projectLevels } from './input-proj.ts';
import { DeformableTransformer } from './transformer.ts';
import { FeatureResizer } from './dn.ts';
import { hipieForwardTrain } from './train.ts';
import type { HipieDnInput, HipieTrainOptions, HipieTrainOutputs } from './train.ts';

/** `detr.backbone.0`: the masked-backbone wrapper whose `backbone` is the ResNet. */
export class HipieBackbone extends Module {
  backbone: D2ResNet;
  constructor(c: HipieConfig, opts: InitOptions = {}) {
    super();
    this.backbone = new D2ResNet({ ...c.backbone, num_classes: 0 }, opts);
  }
}

export class HipieDetr extends Module {
  transformer: DeformableTransformer;
  class_embed: (VLAlign | StillClassifier)[];
  bbox_embed: MLP[];
  iou_head: Linear[];
  input_proj: Sequential[] | null;
  backbone: HipieBackbone[] | null;
  constructor(readonly config: HipieConfig, opts: InitOptions = {}) {
    super();
    const c = config;
    const d = c.hidden_dim;
    this.transformer = new DeformableTransformer(c, opts);
    this.class_embed = [...Array.from({ length: c.dec_layers }, () => new VLAlign(d, c.lang_dim, opts)), new StillClassifier(d, opts)];
    this.bbox_embed = Array.from({ length: c.dec_layers + 1 }, () => new MLP(d, d, 4, 3, opts));
    this.iou_head = Array.from({ length: c.dec_layers }, () => new Linear(d, 1, opts));
    if (c.with_image_encoder) {
      this.input_proj = buildInputProjection(c, opts);
      this.backbone = [new HipieBackbone(c, opts)];
    } else {
      this.input_proj = null;
      this.backbone = null;
    }
  }
}

/** What encodeImage returns: the projected levels and their sine position embeddings (dispose when done). */
export interface ImageFeatures {
  /** Projected features per level, each [N, C, h, w] (strides 8, 16, 32, 64). */
  srcs: Tensor[];
  /** Sine position embeddings per level, each [1, C, h, w]. */
  pos: Tensor[];
  /** Padded input size [H, W] (1024 x 1024 in SegLLM). */
  imageSize: [number, number];
}

export function disposeImageFeatures(f: ImageFeatures): void {
  for (const t of [...f.srcs, ...f.pos]) t.dispose();
}

/** Everything one decode produces (batch 1); dispose with disposeHipieOutputs. */
export interface HipieOutputs {
  memory: Tensor;
  langFused: Tensor;
  encClass: Tensor;
  encCoordUnact: Tensor;
  selected: Tensor;
  initReference: Tensor;
  /** Refined boxes per decoder layer, each [1, Q, 4]. */
  references: Tensor[];
  /** Decoder states per layer, each [1, Q, C]. */
  hs: Tensor[];
  /** Last-layer class logits against the fused tokens [1, Q, T]. */
  logits: Tensor;
  /** Last-layer boxes (cx, cy, w, h in [0, 1]) [1, Q, 4]. */
  boxes: Tensor;
  /** IoU logits [1, Q, 1]. */
  iou: Tensor;
  /** Dynamic mask parameters [1, Q, P]. */
  maskParams: Tensor;
  /** Query centres in pixels of the padded image [1, Q, 2] (from the box fed into the last decoder layer). */
  maskRefPx: Tensor;
  /** Mask features [1, C/32, H/8, W/8]. */
  maskFeats: Tensor;
  /** Mask logits [1, Q, 1, H/4, W/4]. */
  masks: Tensor;
  imageSize: [number, number];
}

export function disposeHipieOutputs(o: HipieOutputs): void {
  for (const v of Object.values(o)) {
    if (Array.isArray(v)) for (const t of v) (t as Tensor).dispose?.();
    else if (v && typeof v === 'object' && 'dispose' in v) (v as Tensor).dispose();
  }
}

/** Bad inputs to encodeImage / decode. */
export class HipieInputError extends Error {
  override readonly name = 'HipieInputError';
}

export class HipieModel extends Module {
  detr: HipieDetr;
  controller: MLP;
  mask_head: MaskHeadSmallConv;
  resizer: FeatureResizer | null;
  constructor(readonly config: HipieConfig, opts: InitOptions = {}) {
    super();
    validateHipieConfig(config);
    this.detr = new HipieDetr(config, opts);
    this.controller = new MLP(config.hidden_dim, config.hidden_dim, dynamicParamSizes(config).total, config.controller_layers, opts);
    this.mask_head = new MaskHeadSmallConv(config.hidden_dim, opts);
    this.resizer = config.dn_resizer ? new FeatureResizer(config.lang_dim, config.hidden_dim, opts) : null;
  }

  /** The floating-point dtype of the weights; inputs are cast to it. */
  get dtype(): DType {
    return this.detr.transformer.level_embed.dtype;
  }

  /**
   * images [N, 3, H, W] (normalised, padded; H and W multiples of 32) -> projected levels [N, C, h, w] + position
   * embeddings [1, C, h, w]. Outside noGrad the levels carry gradients to the backbone (FrozenBN stays frozen).
   */
  encodeImage(image: Tensor): ImageFeatures {
    const d = this.detr;
    if (!d.backbone || !d.input_proj) throw new HipieConfigError('this HIPIE model was built without the image encoder (with_image_encoder: false): pass projected features to decode() instead');
    if (image.rank !== 4 || image.shape[0] < 1 || image.shape[1] !== 3) throw new HipieInputError(`encodeImage expects normalised images [N, 3, H, W], got [${image.shape.join(', ')}]`);
    const [, , H, W] = image.shape;
    if (H % 32 !== 0 || W % 32 !== 0) throw new HipieInputError(`encodeImage: image size ${H}x${W} must be a multiple of 32 (SegLLM pads to 1024x1024)`);
    const proj = d.input_proj;
    const backbone = d.backbone[0].backbone;
    const srcs = tidy(() => projectLevels(proj, backbone.forward(image.to(this.dtype), ['res3', 'res4', 'res5'])));
    const pos = levelPositions(srcs, this.config.hidden_dim);
    return { srcs, pos, imageSize: [H, W] };
  }

  /** The decoder from fusion onwards. tokens [T, Cl] or [1, T, Cl] (SegLLM: 8 x 768). */
  decode(features: ImageFeatures, tokens: Tensor): HipieOutputs {
    const c = this.config;
    const lang = tokens.rank === 2 ? tokens.unsqueeze(0) : tokens.view(tokens.shape);
    try {
      if (lang.rank !== 3 || lang.shape[0] !== 1 || lang.shape[2] !== c.lang_dim) {
        throw new HipieInputError(`decode expects phrase tokens [T, ${c.lang_dim}] or [1, T, ${c.lang_dim}], got [${tokens.shape.join(', ')}]`);
      }
      if (features.srcs.length !== 4 || features.srcs.some((s) => s.shape[0] !== 1 || s.shape[1] !== c.hidden_dim)) {
        throw new HipieInputError(`decode expects 4 projected levels [1, ${c.hidden_dim}, h, w], got ${features.srcs.map((s) => `[${s.shape.join(', ')}]`).join(' ')}`);
      }
      const dt = this.dtype;
      return tidy(() => this.#decode({ ...features, srcs: features.srcs.map((t) => t.to(dt)), pos: features.pos.map((t) => t.to(dt)) }, lang.to(dt)));
    } finally {
      lang.dispose();
    }
  }

  /** The training forward over a batch (train.ts): per-layer outputs of the foreground and DN branches. */
  forwardTrain(features: ImageFeatures, lang: Tensor, dn: HipieDnInput | null = null, opts: HipieTrainOptions = {}): HipieTrainOutputs {
    return hipieForwardTrain(this, features, lang, dn, opts);
  }

  #decode(features: ImageFeatures, lang: Tensor): HipieOutputs {
    const c = this.config;
    const d = this.detr;
    const L = c.dec_layers - 1;
    const objectness = d.class_embed[c.dec_layers] as StillClassifier;
    const t = d.transformer.forward(features.srcs, features.pos, lang, objectness, d.bbox_embed);
    const h = t.hs[L]; // [1, Q, C]
    const refIn = L === 0 ? t.initReference : t.references[L - 1]; // the box fed into the last layer [1, Q, 4]
    const logits = (d.class_embed[L] as VLAlign).forward(h, t.lang); // [1, Q, T]
    const boxes = t.references[L]; // = sigmoid(bbox_embed[L](h) + inverse_sigmoid(refIn))
    const iou = d.iou_head[L].forward(h); // [1, Q, 1]
    const maskParams = this.controller.forward(h); // [1, Q, P]
    const [H, W] = features.imageSize;
    const scale = cat([refIn.narrow(2, 0, 1).mul(W), refIn.narrow(2, 1, 1).mul(H)], 2); // [1, Q, 2]
    const shapes: [number, number][] = features.srcs.map((s) => [s.shape[2], s.shape[3]]);
    const [f8, f16, f32] = memoryLevels(t.memory, shapes, 3);
    const maskFeats = this.mask_head.forward([f8, f16, f32]); // [1, Cm, H/8, W/8]
    const Q = h.shape[1];
    const masks = dynamicMaskLogits(maskFeats, scale.reshape([Q, 2]), maskParams.reshape([Q, maskParams.shape[2]]), c).unsqueeze(0); // [1, Q, 1, H/4, W/4]
    return {
      memory: t.memory, langFused: t.lang, encClass: t.encClass, encCoordUnact: t.encCoordUnact, selected: t.selected,
      initReference: t.initReference, references: t.references, hs: t.hs, logits, boxes, iou, maskParams, maskRefPx: scale, maskFeats, masks,
      imageSize: [H, W],
    };
  }
}
