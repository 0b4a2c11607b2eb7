/**
 * "The default model": what the CLI and the web demo run when the user names none. No trained default exists yet, so
 * today it is a tiny SegLLM with RANDOM weights (seeded) and the bundled tokenizer; when one is published, point
 * DEFAULT_MODEL at its hub id and loadDefaultModel at loadSegLLM. Nothing else needs to change.
 */
import { Tokenizer } from '@segllm/models';
import { manualSeed } from '@segllm/tensor';
import { SegLLM } from '../segllm.ts';
import { checkDtype, initDevice, type Device, type ModelDType } from '../device.ts';
import { parseSegLLMConfig } from './config.ts';
import { SegLLMForSegmentation } from './modeling.ts';
import { HipieDecoder } from './hipie.ts';
import { tinySegLLMConfigJson } from './tiny.ts';
import { bundledTokenizerJson } from './bundled.ts';

export const DEFAULT_MODEL = {
  /** A hub id once a trained default exists; today the name of the built-in tiny random model. */
  id: 'segllm/tiny-random',
  /** false: the weights are random, so its masks are meaningless (it shows the pipeline and its speed). */
  trained: false,
  /** Side of the decoder's padded frame of the tiny model (the release uses 1024). */
  imageSize: 256,
} as const;

export interface DefaultModelOptions {
  device?: Device;
  /** A backend already started (overrides device). */
  backend?: string;
  dtype?: ModelDType;
  /** Seed of the random weights (default 0). */
  seed?: number;
  /** Where browsers fetch the bundled tokenizer (default env.tokenizerUrl). */
  tokenizerUrl?: URL | string;
}

/** The default model (see DEFAULT_MODEL), on `device` (default 'auto'). */
export async function loadDefaultModel(o: DefaultModelOptions = {}): Promise<SegLLM> {
  const dtype = checkDtype(o.dtype ?? 'float32');
  const backend = o.backend ?? (await initDevice(o.device ?? 'auto'));
  const tokenizer = Tokenizer.fromString(await bundledTokenizerJson(o.tokenizerUrl));
  manualSeed(o.seed ?? 0);
  const config = parseSegLLMConfig(tinySegLLMConfigJson({ imageSize: DEFAULT_MODEL.imageSize }));
  // Random init runs on the CPU (seeded, the same weights everywhere); then the weights move to the device.
  const net = new SegLLMForSegmentation(config, new HipieDecoder(config.hipie, config.hipie_image_size));
  if (dtype !== 'float32') net.toDtype(dtype);
  if (backend !== 'cpu') await net.to(backend);
  return new SegLLM(net, tokenizer);
}
