/**
 * Browser entry: a tiny SegLLM with random weights on WebGPU (navigator.gpu), chatting about an image the user
 * picks. The tokenizer (the LLaVA-1.5 one, with <video> and <seg>) is served next to this bundle as
 * tokenizer.json.gz and decompressed with DecompressionStream. Built by build.ts (esbuild).
 */
import { SegLLM, SegLLMForSegmentation, defaultDecoder, tinySegLLMConfig } from '@segllm/core';
import type { ChatSession, RoundResult } from '@segllm/core';
import { Tokenizer, decodeImageSource } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import { initWebGPU, manualSeed } from '@segllm/tensor';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const log = (s: string): void => {
  $('log').textContent += `${s}\n`;
};

async function loadTokenizer(): Promise<Tokenizer> {
  const res = await fetch('./tokenizer.json.gz');
  if (!res.ok || !res.body) throw new Error(`cannot fetch tokenizer.json.gz (${res.status}): run npm run build first`);
  const text = await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).text();
  return Tokenizer.fromString(text);
}

async function buildModel(backend: string): Promise<SegLLM> {
  manualSeed(0);
  const config = tinySegLLMConfig({ imageSize: 256 });
  const net = new SegLLMForSegmentation(config, defaultDecoder(config));
  await net.to(backend);
  return new SegLLM(net, await loadTokenizer());
}

function draw(img: Image8, r?: RoundResult): void {
  const canvas = $<HTMLCanvasElement>('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  const px = ctx.createImageData(img.width, img.height);
  for (let i = 0; i < img.width * img.height; i++) {
    const m = r?.mask[i] ?? 0;
    for (let k = 0; k < 3; k++) {
      const v = img.data[i * img.channels + (img.channels >= 3 ? k : 0)];
      px.data[i * 4 + k] = m ? (v + (k === 0 ? 255 : 40)) >> 1 : v;
    }
    px.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(px, 0, 0);
  if (r) {
    const [x0, y0, x1, y1] = r.box;
    ctx.strokeStyle = '#ff2828';
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  }
}

async function main(): Promise<void> {
  $('log').textContent = '';
  let backend = 'webgpu';
  try {
    await initWebGPU();
  } catch (e) {
    backend = 'cpu';
    log(`WebGPU unavailable (${(e as Error).message}); running on the CPU backend instead.`);
  }
  let t0 = performance.now();
  const model = await buildModel(backend);
  log(`tiny SegLLM (RANDOM weights) built on ${backend} in ${(performance.now() - t0).toFixed(0)} ms. Pick an image.`);
  let session: ChatSession | null = null;
  let image: Image8 | null = null;
  const prompt = $<HTMLInputElement>('prompt');
  const enable = (on: boolean): void => {
    for (const id of ['prompt', 'ask', 'undo']) $<HTMLInputElement>(id).disabled = !on;
  };

  $<HTMLInputElement>('file').addEventListener('change', (ev) => {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (!file) return;
    void (async () => {
      enable(false);
      session?.dispose();
      image = await decodeImageSource(file);
      draw(image);
      t0 = performance.now();
      session = await model.chat(image);
      log(`${file.name}: ${image.width}x${image.height}, encoded in ${(performance.now() - t0).toFixed(0)} ms. Ask away; [REF:k] refers to round k.`);
      enable(true);
    })().catch((e: unknown) => log(`error: ${(e as Error).message}`));
  });

  $('ask').addEventListener('click', () => {
    if (!session || !image) return;
    const s = session;
    const img = image;
    void (async () => {
      enable(false);
      t0 = performance.now();
      try {
        const r = await s.ask(prompt.value);
        const area = r.mask.reduce((a, v) => a + v, 0);
        log(`round ${r.round}: box [${r.box.map((v) => v.toFixed(1)).join(', ')}] score ${r.score.toFixed(3)} area ${area} px in ${(performance.now() - t0).toFixed(0)} ms`);
        draw(img, r);
      } catch (e) {
        log(`${(e as Error).name}: ${(e as Error).message}`); // typed errors (bad [REF:k], empty prompt) say what to do
      } finally {
        enable(true);
      }
    })();
  });

  $('undo').addEventListener('click', () => {
    if (!session || !image) return;
    log(session.undo() ? `undone; ${session.rounds} round(s) left` : 'nothing to undo');
    draw(image, session.results.at(-1));
  });
}

main().catch((e: unknown) => log(`error: ${(e as Error).message}`));
