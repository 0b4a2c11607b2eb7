/** The decoder the core benchmark uses: the release's HIPIE at the tiny test sizes (128 x 128 input). */
import { defaultDecoder } from '@segllm/core';
import type { MaskDecoder, SegLLMConfig } from '@segllm/core';

export function benchDecoder(config: SegLLMConfig): MaskDecoder {
  return defaultDecoder(config);
}
