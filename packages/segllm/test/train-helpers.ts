/** A tiny SegLLM and a synthetic batch source for the trainer tests (and the child process the kill test spawns). */
import { Tokenizer } from '@segllm/models';
import { Generator, manualSeed } from '@segllm/tensor';
import { SegLLM, SegLLMForSegmentation, bundledTokenizerJson, defaultDecoder, parseSegLLMConfig, tinySegLLMConfigJson } from '@segllm/core';
import { TRAINER_DEFAULTS, type BatchSource, type StepSample, type TrainerOptions } from '@segllm/core/train';

export const tokJson = await bundledTokenizerJson();
export const tok = Tokenizer.fromString(tokJson);
export const S = 128;
// Small enough to train a few steps in a test: vocabulary 512, CLIP at 56 px (16 image slots).
const base = tinySegLLMConfigJson({ imageSize: S, vocabSize: 512 });
export const configJson = { ...base, vision_config: { ...(base.vision_config as object), image_size: 56 } };
export const R = 56;

/** Conversations of 40-47 tokens with a supervised reply span; the source's RNG is its whole state. */
export class SyntheticSource implements BatchSource {
  g: Generator;
  constructor(seed: number, readonly batch = 2) {
    this.g = new Generator(seed);
  }
  next(): Promise<StepSample[]> {
    return Promise.resolve().then(() => Array.from({ length: this.batch }, () => {
      const T = 40 + this.g.int(0, 8);
      const ids = new Int32Array(T).fill(0).map(() => 100 + this.g.int(0, 50));
      ids[0] = 1;
      for (let i = 5; i < 5 + 16; i++) ids[i] = 300;
      const labels = new Int32Array(T).fill(-100);
      for (let t = 25; t < T; t++) labels[t] = ids[t];
      const clip = new Float32Array(3 * R * R).map(() => this.g.random() - 0.5);
      return { ids, labels, clipPixels: clip, hipiePixels: new Float32Array(3 * S * S), imageStart: 5, maskSlots: [], boxSlots: [{ position: 22, box: [0.1, 0.2, 0.5, this.g.random()] as [number, number, number, number] }], segs: [] };
    }));
  }
  state() {
    return this.g.getState();
  }
  restore(s: unknown) {
    this.g.setState(s as ReturnType<Generator['getState']>);
  }
}

export function newModel(): SegLLM {
  manualSeed(7);
  const cfg = parseSegLLMConfig(configJson);
  return new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), tok);
}

export const trainOptions = (out: string, steps: number): TrainerOptions => ({ ...TRAINER_DEFAULTS, out, steps, lr: 3e-3, warmupRatio: 0.25, freeze: 'all', saveEvery: 2, logEvery: 1, clip: 1.0 });
