/**
 * Model plumbing shared by the commands: the mask decoder for a config (`decoderFor`), backend start-up, checkpoint
 * loading with progress, and the tiny random SegLLM used by `segllm demo`, the tests and the examples.
 */
import { Tokenizer } from '@segllm/models';
import { BUNDLED_TOKENIZER_URL, SegLLM, SegLLMForSegmentation, bundledTokenizerJson, defaultDecoder, loadSegLLM, parseSegLLMConfig, tinySegLLMConfigJson } from '@segllm/core';
import type { MaskDecoder, SegLLMConfig, SegLLMLoadReport } from '@segllm/core';
import { initWebGPU, manualSeed } from '@segllm/tensor';
import type { DType } from '@segllm/tensor';

import { CliUsageError } from './args.ts';

/**
 * The mask decoder every command builds: the release's HIPIE-R50 with the sizes of the config (`hipie_config` in
 * config.json; the tiny models carry TINY_HIPIE). One place to change if the CLI ever needs another decoder.
 */
export function decoderFor(config: SegLLMConfig, opts: { dtype?: DType; backend?: string } = {}): MaskDecoder {
  return defaultDecoder(config, opts);
}

export const BACKENDS = ['cpu', 'webgpu'] as const;
export const DTYPES = ['float32', 'float16'] as const;

/** Validates --backend / --dtype and starts the WebGPU device when asked for. */
export async function prepareBackend(backend: string | undefined, dtype: string | undefined): Promise<{ backend: string; dtype: DType }> {
  const b = backend ?? 'cpu';
  const d = dtype ?? 'float32';
  if (!(BACKENDS as readonly string[]).includes(b)) throw new CliUsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${b}"`);
  if (!(DTYPES as readonly string[]).includes(d)) throw new CliUsageError(`--dtype must be one of ${DTYPES.join(', ')}, got "${d}"`);
  if (b === 'webgpu') await initWebGPU();
  return { backend: b, dtype: d as DType };
}

export interface LoadArgs {
  model: string;
  visionTower?: string;
  backend?: string;
  dtype?: string;
  /** Progress lines (to stderr in the commands). */
  log?: (line: string) => void;
}

/** Loads a release-layout checkpoint with the decoder of `decoderFor` (HIPIE), printing progress about every second. */
export async function loadModel(a: LoadArgs): Promise<{ model: SegLLM; report: SegLLMLoadReport; ms: number }> {
  const { backend, dtype } = await prepareBackend(a.backend, a.dtype);
  const t0 = performance.now();
  let last = t0;
  const { model, report } = await loadSegLLM(a.model, {
    backend,
    dtype,
    visionTower: a.visionTower,
    decoder: decoderFor,
    onProgress: (p) => {
      const now = performance.now();
      if (a.log && (p.loaded === p.total || now - last > 1000)) {
        last = now;
        a.log(`loading ${a.model}: ${p.loaded}/${p.total} tensors`);
      }
    },
  });
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
