/**
 * Soak: many chat rounds with undo/reset on one session, then many session open/dispose cycles, on one backend, with
 * live tensors and backend bytes sampled along the way. A tiny random SegLLM (the structure of the release, small
 * sizes) keeps rounds fast; the leak paths (KV cache, round encodings, image features) are the same as the release's.
 */
import { Tokenizer, imageFromRgba } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import { ContextLengthError, SegLLM, SegLLMForSegmentation, bundledTokenizerJson, defaultDecoder, tinySegLLMConfig } from '@segllm/core';
import type { ChatSession } from '@segllm/core';
import { getBackend, liveTensorCount, manualSeed } from '@segllm/tensor';

export interface MemorySample {
  /** What happened before the sample ("start", "round 100", "after dispose", ...). */
  at: string;
  liveTensors: number;
  /** Bytes of live storages on the backend (memoryStats().live). */
  backendBytes: number;
  /** The JS heap in use (process.memoryUsage().heapUsed), for context. */
  heapBytes: number;
}

export interface SoakOptions {
  backend: string;
  rounds: number;
  cycles: number;
  /** Rounds per memory sample (default 100). */
  every?: number;
  seed?: number;
  onSample?: (s: MemorySample) => void;
}

export interface SoakResult {
  backend: string;
  samples: MemorySample[];
  rounds: number;
  undos: number;
  resets: number;
  contextResets: number;
  cycles: number;
  seconds: number;
}

const PROMPTS = ['Segment the dog.', 'Segment the person on the left of [REF:1].', 'Segment what [REF:1] holds.', 'Find the red ball.', 'Segment the sky.'];

function noiseImage(seed: number, w = 48, h = 40): Image8 {
  const data = new Uint8Array(w * h * 4);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) % 2147483648) >> 23;
  return imageFromRgba({ data, width: w, height: h });
}

/** A tiny random SegLLM on `backend`. */
export async function tinyModel(backend: string, seed = 0): Promise<SegLLM> {
  manualSeed(seed);
  const cfg = tinySegLLMConfig();
  const net = new SegLLMForSegmentation(cfg, defaultDecoder(cfg));
  if (backend !== 'cpu') await net.to(backend);
  return new SegLLM(net, Tokenizer.fromString(await bundledTokenizerJson()));
}

async function sample(backend: string, at: string): Promise<MemorySample> {
  const b = getBackend(backend);
  await b.sync?.();
  return { at, liveTensors: liveTensorCount(), backendBytes: b.memoryStats?.().live ?? 0, heapBytes: process.memoryUsage().heapUsed };
}

/** One round of the soak's script: ask, and every 7th round undo, every 50th reset (seeded choice of prompt). */
async function round(session: ChatSession, r: number, rnd: () => number, counts: { undos: number; resets: number; contextResets: number }): Promise<void> {
  const prompt = session.rounds === 0 ? PROMPTS[0] : PROMPTS[Math.floor(rnd() * PROMPTS.length)];
  try {
    const res = await session.ask(prompt);
    if (res.mask.length !== session.width * session.height) throw new Error(`round ${r}: a mask of ${res.mask.length} pixels`);
  } catch (e) {
    if (!(e instanceof ContextLengthError)) throw e;
    session.reset();
    counts.contextResets++;
    return;
  }
  if (r % 7 === 6) {
    session.undo();
    counts.undos++;
  }
  if (r % 50 === 49) {
    session.reset();
    counts.resets++;
  }
}

/** Runs the soak on a model; the model itself stays (its weights are counted in every sample). */
export async function soak(model: SegLLM, o: SoakOptions): Promise<SoakResult> {
  const t0 = performance.now();
  const every = o.every ?? 100;
  const samples: MemorySample[] = [];
  const push = async (at: string) => {
    const s = await sample(o.backend, at);
    samples.push(s);
    o.onSample?.(s);
  };
  let seed = o.seed ?? 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const counts = { undos: 0, resets: 0, contextResets: 0 };
  await push('start');
  const session = await model.chat(noiseImage(1));
  for (let r = 0; r < o.rounds; r++) {
    await round(session, r, rnd, counts);
    if ((r + 1) % every === 0) await push(`round ${r + 1}`);
  }
  session.dispose();
  await push('after dispose');
  for (let c = 0; c < o.cycles; c++) {
    const s = await model.chat(noiseImage(c + 2));
    await s.ask(PROMPTS[0]);
    await s.ask(PROMPTS[1]);
    s.dispose();
  }
  await push(`after ${o.cycles} open/dispose cycles`);
  return { backend: o.backend, samples, rounds: o.rounds, ...counts, cycles: o.cycles, seconds: (performance.now() - t0) / 1000 };
}
