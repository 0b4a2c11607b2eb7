/**
 * The web demo: the default model (today a tiny SegLLM with RANDOM weights) on WebGPU, falling back to WebAssembly.
 * Pick or drop an image, ask rounds; each round's mask is drawn in its own colour with its box; clicking a mask
 * inserts `[REF:k]` for that round into the prompt; undo drops the last round. Built by build.ts (esbuild), which
 * puts the tokenizer next to the bundle. `window.segllmDemo` exposes the state to the Chromium test (smoke.ts).
 */
import { DEFAULT_MODEL, env, loadDefaultModel } from '@segllm/core';
import type { ChatSession, RoundResult, SegLLM } from '@segllm/core';
import { drawScene, maskRoundAt, roundColour } from './overlay.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = (s: string): void => void ($('status').textContent = s);

interface Demo {
  model: SegLLM;
  session: ChatSession | null;
  pixels: ImageData | null;
  results: RoundResult[];
  latencies: number[];
  busy: boolean;
}

function enable(on: boolean): void {
  for (const id of ['prompt', 'ask', 'undo']) $<HTMLInputElement>(id).disabled = !on;
}

function render(d: Demo): void {
  if (d.pixels) drawScene($<HTMLCanvasElement>('canvas'), d.pixels, d.results);
  const list = $('history');
  list.textContent = '';
  d.results.forEach((r, i) => {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = `rgb(${roundColour(r.round).join(',')})`;
    li.append(sw, `${d.session?.history()[i]?.text ?? ''} — score ${r.score.toFixed(3)}, ${d.latencies[i].toFixed(0)} ms`);
    list.append(li);
  });
}

async function open(d: Demo, image: File | Blob): Promise<void> {
  enable(false);
  d.session?.dispose();
  d.results = [];
  d.latencies = [];
  const bitmap = await createImageBitmap(image);
  const c = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d')!;
  c.drawImage(bitmap, 0, 0);
  d.pixels = c.getImageData(0, 0, bitmap.width, bitmap.height);
  const t0 = performance.now();
  d.session = await d.model.chat(d.pixels);
  status(`device: ${d.model.device}\nimage ${d.pixels.width}x${d.pixels.height} encoded in ${(performance.now() - t0).toFixed(0)} ms`);
  render(d);
  enable(true);
}

async function ask(d: Demo): Promise<void> {
  if (!d.session || d.busy) return;
  d.busy = true;
  enable(false);
  const t0 = performance.now();
  try {
    const r = await d.session.ask($<HTMLInputElement>('prompt').value);
    d.results.push(r);
    d.latencies.push(performance.now() - t0);
    status(`device: ${d.model.device}\nround ${r.round}: ${d.latencies.at(-1)!.toFixed(0)} ms`);
  } catch (e) {
    status(`${(e as Error).name}: ${(e as Error).message}`); // typed errors (bad [REF:k], empty prompt) say what to do
  } finally {
    d.busy = false;
    enable(true);
    render(d);
  }
}

function insertReference(d: Demo, ev: MouseEvent): void {
  const canvas = $<HTMLCanvasElement>('canvas');
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor(((ev.clientX - rect.left) * canvas.width) / rect.width);
  const y = Math.floor(((ev.clientY - rect.top) * canvas.height) / rect.height);
  const round = maskRoundAt(d.results, x, y);
  if (round === null) return;
  const prompt = $<HTMLInputElement>('prompt');
  const at = prompt.selectionStart ?? prompt.value.length;
  prompt.value = `${prompt.value.slice(0, at)}[REF:${round}]${prompt.value.slice(at)}`;
  prompt.focus();
}

async function main(): Promise<void> {
  env.tokenizerUrl = new URL('./tokenizer.json.gz', location.href);
  if (!DEFAULT_MODEL.trained) $('note').textContent = `${DEFAULT_MODEL.id} has RANDOM weights (no trained default model exists yet): the masks are meaningless; the page shows the pipeline and its speed.`;
  const t0 = performance.now();
  const model = await loadDefaultModel({ device: 'auto' });
  const d: Demo = { model, session: null, pixels: null, results: [], latencies: [], busy: false };
  (window as unknown as { segllmDemo: Demo }).segllmDemo = d;
  status(`device: ${model.device}\nmodel ready in ${(performance.now() - t0).toFixed(0)} ms. Pick or drop an image.`);
  const fail = (e: unknown): void => status(`error: ${(e as Error).message}`);
  $<HTMLInputElement>('file').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) open(d, f).catch(fail);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer?.files[0];
    if (f) open(d, f).catch(fail);
  });
  // Rounds run after the event returns (their GPU/WASM work blocks the page while it runs).
  const later = (): void => void setTimeout(() => void ask(d), 0);
  $('ask').addEventListener('click', later);
  $('prompt').addEventListener('keydown', (ev) => ev.key === 'Enter' && later());
  $('canvas').addEventListener('click', (ev) => insertReference(d, ev));
  $('undo').addEventListener('click', () => {
    if (!d.session?.undo()) return;
    d.results.pop();
    d.latencies.pop();
    status(`device: ${model.device}\nundone; ${d.session.rounds} round(s) left`);
    render(d);
  });
}

main().catch((e: unknown) => status(`error: ${(e as Error).message}`));
