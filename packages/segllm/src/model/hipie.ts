/**
 * The release's mask decoder: HIPIE-R50 (packages/models/src/hipie) at `model.segmentator.hipie`, whose `detr` field
 * holds the decoder tree (`model.segmentator.hipie.detr.{detr.*, controller.*, mask_head.*}`). Adapts it to
 * SegLLM's MaskDecoder: cached image features, one decode per `<seg>`, the best target-class detection.
 */
import { HipieModel, disposeHipieOutputs, disposeImageFeatures, postprocess } from '@segllm/models';
import type { HipieConfig, ImageFeatures } from '@segllm/models';
import type { Tensor } from '@segllm/tensor';
import { Module, noGrad } from '@segllm/tensor';
import type { DecoderFeatures, Detection, MaskDecoder } from './decoder.ts';

type InitOptions = ConstructorParameters<typeof HipieModel>[1];

class HipieFeatures implements DecoderFeatures {
  constructor(readonly f: ImageFeatures) {}
  dispose(): void {
    disposeImageFeatures(this.f);
  }
}

export class HipieDecoder extends Module implements MaskDecoder {
  detr: HipieModel;
  constructor(
    readonly config: HipieConfig,
    readonly imageSize: number,
    opts: InitOptions = {},
  ) {
    super();
    this.detr = new HipieModel(config, opts);
  }

  encodeImage(image: Tensor): DecoderFeatures {
    return new HipieFeatures(noGrad(() => this.detr.encodeImage(image)));
  }

  async decode(features: DecoderFeatures, phrase: Tensor): Promise<Detection> {
    const out = noGrad(() => this.detr.decode((features as HipieFeatures).f, phrase));
    try {
      const seg = await postprocess(out, this.config);
      const best = seg.detections[seg.best];
      return { mask: seg.mask, box: best ? best.box : [0, 0, 0, 0], score: best ? best.score : 0 };
    } finally {
      disposeHipieOutputs(out);
    }
  }
}

/**
 * Checkpoint keys below `model.segmentator.hipie.` that the decoder does not load: the transformer's FeatureResizer
 * (a x0 term only) and the decoder's aliases of the detr head lists when the detr name is present (`has`). The DN label
 * encoder `detr.resizer.*` is part of the module tree (training) and loads strictly.
 */
export function hipieRename(key: string, has: (k: string) => boolean): string | null {
  if (key.startsWith('detr.detr.transformer.resizer.')) return null;
  const m = /^detr\.detr\.transformer\.decoder\.(class_embed|bbox_embed)\.(.*)$/.exec(key);
  if (m) {
    const target = `detr.detr.${m[1]}.${m[2]}`;
    return has(`model.segmentator.hipie.${target}`) ? null : target;
  }
  return key;
}
