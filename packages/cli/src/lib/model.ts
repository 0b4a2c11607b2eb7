/**
 * Model plumbing shared by the commands: the mask decoder for a config (`decoderFor`), backend start-up, checkpoint
 * loading with progress, and the tiny random SegLLM used by `segllm demo`, the tests and the examples.
 */
import { Tokenizer } from '@segllm/models';
import {
  BUNDLED_TOKENIZER_URL, DEVICES, MODEL_DTYPES, SegLLM, SegLLMForSegmentation, bundledTokenizerJson, defaultDecoder, initDevice, loadDefaultModel, loadSegLLM, parseSegLLMConfig, tinySegLLMConfigJson,
} from '@segllm/core';
import type { MaskDecoder, ModelDType, SegLLMConfig, SegLLMLoadReport } from '@segllm/core';
import { manualSeed } from '@segllm/tensor';
import { loadBar, type Progress } from './progress.ts';
import type { DType } from '@segllm/tensor';

import { CliUsageError } from './args.ts';

/**
 * The mask decoder every command builds: the release's HIPIE-R50 with the sizes of the config (`hipie_config` in
 * config.json; the tiny models carry TINY_HIPIE). One place to change if the CLI ever needs another decoder.
 */
export function decoderFor(config: SegLLMConfig, opts: { dtype?: DType; backend?: string } = {}): MaskDecoder {
  return defaultDecoder(config, opts);
}

/**
 * Validates --device (alias --backend) and --dtype, and starts the device: 'auto' (default, or $SEGLLM_DEVICE) is
 * WebGPU when an adapter exists, else WebAssembly SIMD (cpu-wasm); 'cpu' is the readable reference backend.
 */
export async function prepareBackend(device: string | undefined, dtype: string | undefined): Promise<{ backend: string; dtype: ModelDType }> {
  const d = device ?? process.env.SEGLLM_DEVICE ?? 'auto';
  const t = dtype ?? 'float32';
  if (!(DEVICES as readonly string[]).includes(d)) throw new CliUsageError(`--device must be one of ${DEVICES.join(', ')}, got "${d}"`);
  if (!(MODEL_DTYPES as readonly string[]).includes(t)) throw new CliUsageError(`--dtype must be one of ${MODEL_DTYPES.join(', ')}, got "${t}"`);
  return { backend: await initDevice(d), dtype: t as ModelDType };
}

export interface LoadArgs {
  /** A checkpoint folder, a hub id (owner/repo/variant) or a URL; undefined: the default model (DEFAULT_MODEL). */
  model?: string;
  visionTower?: string;
  device?: string;
  dtype?: string;
  /** Where progress bars go (stderr in the commands; nothing unless it is a terminal). */
  progress?: Progress;
}

/** Loads a release-layout checkpoint with the decoder of `decoderFor` (HIPIE), with progress bars for download and load. */
export async function loadModel(a: LoadArgs): Promise<{ model: SegLLM; report: SegLLMLoadReport; ms: number }> {
  const { backend, dtype } = await prepareBackend(a.device, a.dtype);
  const t0 = performance.now();
  if (a.model === undefined) {
    const model = await loadDefaultModel({ backend, dtype });
    return { model, report: { loaded: 0, skipped: [], backend }, ms: performance.now() - t0 };
  }
  const { model, report } = await loadSegLLM(a.model, {
    backend,
    dtype,
    visionTower: a.visionTower,
    decoder: decoderFor,
    progress: a.progress && loadBar(a.progress),
  });
  a.progress?.clear();
  return { model, report, ms: performance.now() - t0 };
}

/**
 * The config.json of the CLI's tiny SegLLM: core's tiny config with a 256 px decoder frame (the release uses 1024;
 * HIPIE's mask head at 1024 takes ~13 s per round on a 2-core CPU even at these widths).
 */
export function tinyConfigJson(imageSize = 256): Record<string, unknown> {
  return tinySegLLMConfigJson({ imageSize });
}

/** The SegLLM tokenizer bundled with @segllm/core (tiny models have no checkpoint of their own). */
export const TINY_TOKENIZER_URL = BUNDLED_TOKENIZER_URL;

export function tinyTokenizerJson(): Promise<string> {
  return bundledTokenizerJson();
}

/** A tiny SegLLM with random weights (seeded), its config.json and tokenizer.json text (for saveSegLLM). */
export async function buildTinySegLLM(o: { seed?: number; imageSize?: number; backend?: string } = {}): Promise<{ model: SegLLM; configJson: Record<string, unknown>; tokenizerJson: string }> {
  const configJson = tinyConfigJson(o.imageSize);
  const tokenizerJson = await tinyTokenizerJson();
  manualSeed(o.seed ?? 0);
  const config = parseSegLLMConfig(configJson);
  const net = new SegLLMForSegmentation(config, decoderFor(config));
  if (o.backend && o.backend !== 'cpu') await net.to(o.backend);
  return { model: new SegLLM(net, Tokenizer.fromString(tokenizerJson)), configJson, tokenizerJson };
}
