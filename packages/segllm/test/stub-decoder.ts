/**
 * A small, deterministic stand-in for HIPIE that still depends on the phrase tokens and the image: a Linear maps the
 * mean of the target tokens (4-7) and the image mean to a box; the mask is the box. For session-logic tests only.
 */
import { Linear, Module, cat, noGrad, tidy } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import type { DecoderFeatures, Detection, MaskDecoder } from '@segllm/core';

class Feat implements DecoderFeatures {
  constructor(readonly mean: Tensor) {}
  dispose(): void {
    this.mean.dispose();
  }
}

export class StubDecoder extends Module implements MaskDecoder {
  proj: Linear;
  constructor(readonly imageSize: number) {
    super();
    this.proj = new Linear(768 + 3, 4);
  }
  encodeImage(image: Tensor): DecoderFeatures {
    return new Feat(noGrad(() => image.mean([2, 3]).reshape([3]))); // [3]
  }
  async decode(features: DecoderFeatures, phrase: Tensor): Promise<Detection> {
    const f = features as Feat;
    const v = tidy(() => {
      const t = phrase.slice(0, 4, 8).mean(0); // [768]
      const x = cat([t.tanh().mul(3), f.mean], 0).reshape([1, 771]);
      return this.proj.forward(x).sigmoid().reshape([4]);
    });
    const [a, b, c, d] = Array.from(await v.data());
    v.dispose();
    const S = this.imageSize;
    const x0 = Math.floor(Math.min(a, c) * S * 0.9);
    const y0 = Math.floor(Math.min(b, d) * S * 0.9);
    const x1 = Math.max(x0 + 2, Math.ceil(Math.max(a, c) * S));
    const y1 = Math.max(y0 + 2, Math.ceil(Math.max(b, d) * S));
    const mask = new Uint8Array(S * S);
    for (let y = y0; y < Math.min(y1, S); y++) for (let x = x0; x < Math.min(x1, S); x++) mask[y * S + x] = 1;
    return { mask, box: [x0, y0, Math.min(x1, S), Math.min(y1, S)], score: (a + b + c + d) / 4 };
  }
}
