/** The decoder the core benchmark uses: the tiny HIPIE configuration once available, else the test stub. */
import { StubDecoder } from '../test/stub-decoder.ts';
import type { MaskDecoder } from '@segllm/core';

export function benchDecoder(): { decoder: MaskDecoder; imageSize: number } {
  return { decoder: new StubDecoder(128), imageSize: 128 };
}
