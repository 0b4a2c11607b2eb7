/**
 * Golden-parity runner: `npm run golden -w @segllm/models -- <kind> <args...>`. Prints one JSON line per compared
 * tensor or prompt and a final summary line; exits 1 when a comparison fails, 2 on bad usage.
 * Add a kind by adding an entry to HANDLERS.
 */
import { goldenMain, type GoldenHandler } from '@segllm/tensor/testing';
import { runPreprocessGolden } from './golden-preprocess.ts';
import { runTokenizeGolden } from './golden-tokenize.ts';
import { runClipGolden, runLlamaGolden, runResnetGolden } from './golden-models.ts';
import { runHipieGolden } from './golden-hipie.ts';

const HANDLERS: Record<string, GoldenHandler> = {
  preprocess: { usage: 'preprocess <preprocess.safetensors[.gz]> <image file>', run: runPreprocessGolden },
  tokenize: { usage: 'tokenize <tokenizer.json[.gz]> <tokenize.json>', run: runTokenizeGolden },
  clip: { usage: 'clip <weights.safetensors> <io.safetensors> [--backend cpu|webgpu] [--config config.json]', run: runClipGolden },
  llama: { usage: 'llama <weights.safetensors> <io.safetensors> [--backend cpu|webgpu] [--config config.json]', run: runLlamaGolden },
  resnet: { usage: 'resnet <weights.safetensors> <io.safetensors> [--backend cpu|webgpu]', run: runResnetGolden },
  hipie: { usage: 'hipie <weights.safetensors> <io.safetensors> [--backend cpu|webgpu]', run: runHipieGolden },
};

await goldenMain(HANDLERS, 'npm run golden -w @segllm/models --');
