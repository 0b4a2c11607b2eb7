/**
 * npm run bench -w @segllm/core [-- --json] [--rounds 8] [--backend cpu|webgpu]
 * npm run bench -w @segllm/core -- --train [--json] ...: training steps instead (bench/train.ts).
 * Per-round latency of a tiny SegLLM (real tokenizer, tiny LLaMA/CLIP/decoder, random weights) for rounds 1..N on
 * each backend. Later rounds run only their own tokens on the KV cache, so their cost should stay flat after round 1.
 */
import { newImage } from '@segllm/models';
import { manualSeed } from '@segllm/tensor';
import { availableBackends } from '@segllm/tensor/testing';
import { SegLLM, SegLLMForSegmentation, bundledTokenizer, tinySegLLMConfig } from '@segllm/core';
import { benchDecoder } from './decoder.ts';

const args = process.argv.slice(2);
if (args.includes('--train')) {
  await import('./train.ts'); // the training benchmark (its own flags: see bench/train.ts)
  process.exit(0);
}
const json = args.includes('--json');
const nRounds = Number(args[args.indexOf('--rounds') + 1]) || 8;
const only = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : null;
const tok = await bundledTokenizer();

const PROMPTS = [
  'Segment the dog.',
  'Segment the ball left of instance 1. [REF:1]',
  'Segment the person holding the leash.',
  'Segment the hat of instance 3. [REF:3]',
  'Segment the object between [REF:1] and [REF:3].',
  'Segment the tree behind everything.',
  'Segment the other dog.',
  'Segment the shadow of instance 2. [REF:2]',
];

const img = newImage(160, 120, 3);
for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 251;

for (const backend of await availableBackends()) {
  if (only && backend !== only) continue;
  manualSeed(0);
  const config = tinySegLLMConfig({ hidden: 64 });
  const net = new SegLLMForSegmentation(config, benchDecoder(config));
  if (backend !== 'cpu') await net.to(backend);
  const model = new SegLLM(net, tok);
  const t0 = performance.now();
  const session = await model.chat(img);
  const openMs = performance.now() - t0;
  const roundMs: number[] = [];
  for (let r = 0; r < nRounds; r++) {
    const t = performance.now();
    await session.ask(PROMPTS[r % PROMPTS.length]);
    roundMs.push(+(performance.now() - t).toFixed(1));
  }
  session.dispose();
  if (json) console.log(JSON.stringify({ backend, openMs: +openMs.toFixed(1), roundMs }));
  else console.log(`${backend.padEnd(8)} image encodings ${openMs.toFixed(0)} ms; rounds (ms): ${roundMs.join(', ')}`);
}
