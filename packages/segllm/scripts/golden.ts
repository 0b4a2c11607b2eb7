/**
 * Golden-parity runner of @segllm/core: `npm run golden -w @segllm/core -- <kind> <args...>`. Prints one JSON line
 * per compared tensor and a final summary line; exits 1 when a comparison fails, 2 on bad usage.
 * Add a kind by adding an entry to the table.
 */
import { goldenMain } from '@segllm/tensor/testing';
import { runHipieLossGolden } from './golden-hipie-loss.ts';

await goldenMain(
  { 'hipie-loss': { usage: 'hipie-loss <hipie_loss.safetensors[.gz]> [--backend cpu|cpu-wasm|webgpu] [--case name]...', run: runHipieLossGolden } },
  'npm run golden -w @segllm/core --',
);
