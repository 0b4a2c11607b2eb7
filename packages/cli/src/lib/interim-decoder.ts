/**
 * A small stand-in mask decoder, used by `decoderFor` until the HIPIE-R50 adapter for @segllm/core lands. It
 * implements core's MaskDecoder contract cheaply so every command runs end to end on tiny random models:
 * features = the normalised padded image average-pooled to a [3, g, g] grid (g = S / 16); decode maps the mean of
 * the target phrase tokens (4-7) through one Linear(phrase dim -> 4) to a colour direction and a bias; the mask is every
 * grid cell whose dot product with that direction plus the bias is positive, upsampled to S x S. Real checkpoints
 * need HIPIE: a release checkpoint does not load with this decoder (its `model.segmentator.hipie.*` keys differ).
 */
import { Linear, Module, noGrad, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import type { DecoderFeatures, Detection, MaskDecoder } from '@segllm/core';

const CELL = 16;

class GridFeatures implements DecoderFeatures {
  constructor(
    /** Pooled image [3, g * g] (normalised colours). */
    readonly grid: Tensor,
    readonly g: number,
  ) {}
  dispose(): void {
    this.grid.dispose();
  }
}

export class InterimDecoder extends Module implements MaskDecoder {
  proj: Linear;
  constructor(
    readonly imageSize: number,
    readonly phraseDim = 768,
  ) {
    super();
    if (imageSize % CELL !== 0) throw new RangeError(`the interim decoder needs an image size divisible by ${CELL}, got ${imageSize}`);
    this.proj = new Linear(phraseDim, 4);
  }

  encodeImage(image: Tensor): DecoderFeatures {
    const g = this.imageSize / CELL;
    const grid = noGrad(() => tidy(() => image.reshape([3, g, CELL, g, CELL]).mean([2, 4]).reshape([3, g * g]).to(this.proj.weight.dtype).contiguous())); // [3, g*g]
    return new GridFeatures(grid, g);
  }

  async decode(features: DecoderFeatures, phrase: Tensor): Promise<Detection> {
    const f = features as GridFeatures;
    const logits = noGrad(() =>
      tidy(() => {
        const w = this.proj.forward(phrase.slice(0, 4, 8).mean(0).reshape([1, this.phraseDim]).to(this.proj.weight.dtype)); // [1, 4]
        return w.slice(1, 0, 3).matmul(f.grid).add(w.slice(1, 3, 4)).reshape([f.g * f.g]).to('float32'); // [g*g]
      }),
    );
    const l = await logits.data();
    logits.dispose();
    const g = f.g;
    const S = this.imageSize;
    const mask = new Uint8Array(S * S);
    let x0 = S;
    let y0 = S;
    let x1 = 0;
    let y1 = 0;
    let sum = 0;
    let n = 0;
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        const logit = l[gy * g + gx];
        if (!(logit > 0)) continue;
        sum += 1 / (1 + Math.exp(-logit));
        n++;
        for (let y = gy * CELL; y < (gy + 1) * CELL; y++) mask.fill(1, y * S + gx * CELL, y * S + (gx + 1) * CELL);
        x0 = Math.min(x0, gx * CELL);
        y0 = Math.min(y0, gy * CELL);
        x1 = Math.max(x1, (gx + 1) * CELL);
        y1 = Math.max(y1, (gy + 1) * CELL);
      }
    }
    return n ? { mask, box: [x0, y0, x1, y1], score: sum / n } : { mask, box: [0, 0, 0, 0], score: 0 };
  }
}
