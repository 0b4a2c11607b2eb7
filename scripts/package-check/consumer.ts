// Type-checked under strict, without skipLibCheck, against the installed .d.ts files.
import { DEFAULT_MODEL, loadDefaultModel, loadSegLLM, type Device, type LoadProgress, type RoundResult } from '@segllm/core';
import { tensor } from '@segllm/tensor';

const device: Device = 'cpu-wasm';
export async function run(signal: AbortSignal): Promise<RoundResult> {
  const model = DEFAULT_MODEL.trained
    ? (await loadSegLLM(DEFAULT_MODEL.id, { device, dtype: 'float16', signal, progress: (p: LoadProgress) => void p.loaded })).model
    : await loadDefaultModel({ device });
  const session = await model.chat(new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  const r = await session.ask('Segment the dog.');
  model.dispose();
  return r;
}
export const t = tensor([1, 2, 3]);
