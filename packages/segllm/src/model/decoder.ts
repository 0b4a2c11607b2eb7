/**
 * What SegLLM needs from its mask decoder (HIPIE-R50 in the release): image features computed once per image, and a
 * decode of one 8 x 768 phrase against them, returning the best target-class detection in the padded square frame.
 */
import type { Module, Tensor } from '@segllm/tensor';

export interface Detection {
  /** Binary mask in the padded square frame, size x size, row-major, 0/1. */
  mask: Uint8Array;
  /** [x0, y0, x1, y1] in pixels of the padded square frame. */
  box: [number, number, number, number];
  score: number;
}

/** Opaque per-image features (disposable). */
export interface DecoderFeatures {
  dispose(): void;
}

export interface MaskDecoder extends Module {
  /** Side of the square input (1024 in the release). */
  readonly imageSize: number;
  /** Normalised padded image [1, 3, S, S] -> cached features. */
  encodeImage(image: Tensor): DecoderFeatures;
  /** Features + phrase tokens [8, 768] -> the best target-class detection. */
  decode(features: DecoderFeatures, phrase: Tensor): Promise<Detection>;
}
