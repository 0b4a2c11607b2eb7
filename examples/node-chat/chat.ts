/**
 * A multi-round SegLLM chat from Node with @segllm/core.
 *
 *   npm start -w @segllm/example-node-chat                                  # tiny model, RANDOM weights, no downloads
 *   npm start -w @segllm/example-node-chat -- <checkpoint dir> <image> [webgpu]   # a real checkpoint
 *
 * With a checkpoint, `loadSegLLM(dir)` builds SegLLM (HIPIE-R50 decoder by default) from its config.json,
 * tokenizer.json and safetensors shards. Without one, a tiny model with random weights runs on a synthetic image,
 * so the masks are meaningless but every step of the API is exercised.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { EmptyPromptError, InvalidReferenceError, SegLLM, SegLLMForSegmentation, defaultDecoder, loadSegLLM, tinySegLLMConfig } from '@segllm/core';
import { Tokenizer, newImage } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import { initWebGPU, manualSeed } from '@segllm/tensor';

async function openModel(dir: string | undefined, backend: string): Promise<SegLLM> {
  if (dir) {
    const { model, report } = await loadSegLLM(dir, {
      backend,
      dtype: backend === 'webgpu' ? 'float16' : 'float32',
      progress: (p) => p.phase === 'load' && p.loaded === p.total && console.log(`loaded ${p.total} bytes of weights`),
    });
    console.log(`skipped on purpose: ${report.skipped.length} keys (HIPIE's unused BERT etc.)`);
    return model;
  }
  // The tiny model: the LLaVA tokenizer kept in this repository, tiny LLaMA / CLIP / HIPIE, random weights.
  const tokenizerJson = gunzipSync(readFileSync(new URL('../../packages/segllm/assets/tokenizer/tokenizer.json.gz', import.meta.url))).toString('utf8');
  manualSeed(0);
  const config = tinySegLLMConfig({ imageSize: 128 });
  const net = new SegLLMForSegmentation(config, defaultDecoder(config));
  if (backend !== 'cpu') await net.to(backend);
  console.log('tiny SegLLM with RANDOM weights: the masks below are meaningless');
  return new SegLLM(net, Tokenizer.fromString(tokenizerJson));
}

/** A 64 x 48 test picture: a red square and a blue disc on grey. */
function syntheticImage(): Image8 {
  const img = newImage(64, 48, 3, [128, 128, 128]);
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 64; x++) {
      const o = (y * 64 + x) * 3;
      if (x >= 6 && x < 24 && y >= 10 && y < 28) img.data.set([220, 30, 30], o);
      if ((x - 44) ** 2 + (y - 26) ** 2 < 100) img.data.set([30, 60, 220], o);
    }
  }
  return img;
}

const [dir, imagePath, backend = 'cpu'] = process.argv.slice(2);
if (backend === 'webgpu') await initWebGPU();
const model = await openModel(dir, backend);

// One session per image: the image is encoded once, each ask() runs only the new round's tokens (KV cache).
const session = await model.chat(imagePath ?? syntheticImage());
try {
  for (const text of ['Segment the red square.', 'Segment the object to the right of [REF:1].', 'Segment the circle. [REF:7]', 'Segment the background.']) {
    try {
      const r = await session.ask(text);
      const area = r.mask.reduce((s, v) => s + v, 0);
      console.log(`round ${r.round} "${text}": box [${r.box.map((v) => v.toFixed(1)).join(', ')}], score ${r.score.toFixed(3)}, ${area} of ${r.width * r.height} px${r.referencedRound ? `, refers to round ${r.referencedRound}` : ''}`);
    } catch (e) {
      // Bad references and empty prompts are typed errors whose message says what to do; the session is unchanged.
      if (e instanceof InvalidReferenceError || e instanceof EmptyPromptError) console.log(`rejected "${text}": ${e.message}`);
      else throw e;
    }
  }
  session.undo(); // drops the last round (its tokens leave the KV cache)
  console.log('history after undo:', JSON.stringify(session.history().map((h) => ({ round: h.round, text: h.text, refs: h.refs }))));
} finally {
  session.dispose();
}
