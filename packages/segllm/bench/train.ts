/**
 * npm run bench -w @segllm/core -- --train [--json] [--steps 3] [--models tiny,default] [--backend cpu-wasm,webgpu]
 *   [--threads 1,2] [--no-peer] [--peer-shape B,T,D]
 * Samples/s and peak memory of a SegLLM training step (Trainer.trainStep: data, teacher-forced forward, text + HIPIE
 * losses, backward, clip, AdamW) for the tiny test config and for the default model's config (configs/shapes-tiny.json
 * `model.config`, random init, the config's batch, points and freezing), on a small MRSeg-Shapes dataset written to a
 * temp folder; cpu-wasm at each thread count and webgpu. Each part's share of the step comes from the trainer's
 * `profile` hook (the backend is synced around each part). Then the peer: one transformer block's training step, ours
 * on cpu-wasm vs PyTorch CPU (train_peer.py) at the same thread count, as a ratio of samples/s.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBackend, initCpuWasm, initWebGPU, setCpuWasmThreads } from '@segllm/tensor';
import { tinySegLLMConfigJson } from '@segllm/core';
import { parseTrainConfig, prepareTrainRun } from '@segllm/core/train';
import { writeShapesDataset } from '@segllm/mrseg';
import { oursBlockStepMs, pytorchBlockStepMs, type PeerShape } from './train-peer.ts';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const json = args.includes('--json');
const steps = Number(opt('--steps', '3'));
const models = opt('--models', 'tiny,default').split(',');
const backends = opt('--backend', 'cpu-wasm,webgpu').split(',');
const threadCounts = opt('--threads', '1,2').split(',').map(Number);
const [pb, pt, pd] = opt('--peer-shape', '8,128,256').split(',').map(Number);
const PARTS = ['vision', 'llm', 'decoder', 'loss', 'backward', 'optimizer'] as const;

const defaultRecipe = JSON.parse(readFileSync(new URL('../../../configs/shapes-tiny.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const tinyBase = tinySegLLMConfigJson({ imageSize: 64 });
/** The trainer tests' model: LLaMA 2 x 32, CLIP at 56 px, a HIPIE of hidden 32 at 64 px. */
const TINY = {
  model: {
    config: {
      ...tinyBase, vision_config: { ...(tinyBase.vision_config as object), image_size: 56 },
      hipie_config: { hidden_dim: 32, nheads: 2, enc_layers: 1, dec_layers: 2, dim_feedforward: 32, num_queries: 8, num_bg_queries: 2, vl_hidden_dim: 16, vl_heads: 2, lang_dim: 16, norm_groups: 4, dn_resizer: true, backbone: { stem_out_channels: 8, depths: [1, 1, 1, 1], widths: [4, 4, 8, 8] } },
    },
  },
  batch: 2, numPoints: 32, freeze: 'all',
};
const RECIPES: Record<string, Record<string, unknown>> = {
  tiny: TINY,
  default: { model: defaultRecipe.model, batch: defaultRecipe.batch, numPoints: defaultRecipe.numPoints, freeze: defaultRecipe.freeze },
};

const root = mkdtempSync(join(tmpdir(), 'segllm-bench-train-'));
await writeShapesDataset({ out: join(root, 'data'), n: 8, seed: 1, valCount: 0 });
const data = {
  images: join(root, 'data/images'), annotations: [join(root, 'data/annotations/shapes_train.json')],
  train: ['positional', 'hierarchical', 'hard'].map((t) => join(root, `data/conversations/train/${t}.json`)),
};

interface Row {
  model: string;
  backend: string;
  threads: number | null;
  batch: number;
  steps: number;
  samplesPerSec: number;
  stepMs: number;
  peakRssMiB: number;
  peakBackendMiB: number | null;
  /** Mean milliseconds per step of each part; `other` is data loading and bookkeeping. */
  partsMs: Record<string, number>;
  share: Record<string, number>;
}

/** Times `steps` training steps (after one warm-up step) of `model` on `backend`. */
async function benchTraining(model: string, backend: 'cpu-wasm' | 'webgpu', threads: number | null): Promise<Row> {
  const recipe = RECIPES[model];
  if (!recipe) throw new Error(`--models: unknown model "${model}" (tiny, default)`);
  const sums = new Map<string, number>();
  let counting = false;
  let peakRss = 0;
  let peakBackend: number | null = null;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const m = getBackend(backend).memoryStats?.();
    if (m) peakBackend = Math.max(peakBackend ?? 0, m.allocated);
  };
  const profile = (part: string, ms: number) => {
    sample();
    if (counting) sums.set(part, (sums.get(part) ?? 0) + ms);
  };
  const c = parseTrainConfig({ ...recipe, data, steps: steps + 1, lr: 1e-4, warmupRatio: 0, clip: 1, out: join(root, `run-${model}-${backend}-${threads}`), saveEvery: 1e9, logEvery: 1e9, backend });
  const run = await prepareTrainRun(c, { profile });
  let samples = 0; // (a batch may lose conversations the dataset skips)
  const src = run.trainer.data;
  const next = src.next.bind(src);
  src.next = async () => {
    const b = await next();
    if (counting) samples += b.length;
    return b;
  };
  await run.trainer.trainStep(); // warm-up: kernels, pipelines, pools
  counting = true;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await run.trainer.trainStep();
    sample();
  }
  const stepMs = (performance.now() - t0) / steps;
  run.trainer.dispose();
  run.model.model.dispose();
  const partsMs: Record<string, number> = {};
  for (const p of PARTS) partsMs[p] = (sums.get(p) ?? 0) / steps;
  partsMs.other = Math.max(0, stepMs - PARTS.reduce((a, p) => a + partsMs[p], 0));
  const share = Object.fromEntries(Object.entries(partsMs).map(([k, v]) => [k, +(v / stepMs).toFixed(3)]));
  const mib = (b: number) => +(b / 2 ** 20).toFixed(1);
  return {
    model, backend, threads, batch: c.batch, steps, samplesPerSec: +(samples / ((stepMs * steps) / 1000)).toFixed(3), stepMs: +stepMs.toFixed(1),
    peakRssMiB: mib(peakRss), peakBackendMiB: peakBackend === null ? null : mib(peakBackend),
    partsMs: Object.fromEntries(Object.entries(partsMs).map(([k, v]) => [k, +v.toFixed(1)])), share,
  };
}

function print(r: Row): void {
  if (json) return console.log(JSON.stringify(r));
  const where = r.threads ? `${r.backend} ${r.threads}t` : r.backend;
  const parts = Object.entries(r.share).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', ');
  console.log(`${r.model.padEnd(8)} ${where.padEnd(12)} batch ${r.batch}: ${r.samplesPerSec.toFixed(2)} samples/s (${r.stepMs.toFixed(0)} ms/step), peak RSS ${r.peakRssMiB} MiB${r.peakBackendMiB === null ? '' : `, backend ${r.peakBackendMiB} MiB`}; ${parts}`);
}

if (backends.includes('cpu-wasm')) await initCpuWasm({ threads: Math.max(...threadCounts) });
for (const model of models) {
  for (const backend of backends) {
    if (backend !== 'cpu-wasm' && backend !== 'webgpu') throw new Error(`--backend: unknown backend "${backend}" (cpu-wasm, webgpu)`);
    if (backend === 'webgpu') {
      await initWebGPU();
      print(await benchTraining(model, backend, null));
      continue;
    }
    for (const t of threadCounts) {
      setCpuWasmThreads(t);
      print(await benchTraining(model, backend, t));
    }
  }
}

if (!args.includes('--no-peer')) {
  const shape: PeerShape = { B: pb, T: pt, D: pd, steps: Math.max(3, steps) };
  await initCpuWasm({ threads: Math.max(...threadCounts) });
  for (const t of threadCounts) {
    setCpuWasmThreads(t);
    const oursMs = await oursBlockStepMs('cpu-wasm', shape);
    const torch = pytorchBlockStepMs(shape, t);
    const row = 'error' in torch
      ? { peer: 'transformer-block', shape, threads: t, oursMs: +oursMs.toFixed(2), pytorch: torch.error }
      : { peer: 'transformer-block', shape, threads: t, oursMs: +oursMs.toFixed(2), pytorchMs: +torch.ms.toFixed(2), torch: torch.version, ratio: +(torch.ms / oursMs).toFixed(3) };
    if (json) console.log(JSON.stringify(row));
    else console.log(`peer     block B${shape.B} T${shape.T} D${shape.D}, ${t}t: ours ${oursMs.toFixed(1)} ms/step, ${'ratio' in row ? `PyTorch ${row.torch} ${row.pytorchMs} ms/step: ours/PyTorch samples/s = ${row.ratio}x (target >= 0.5x)` : `PyTorch unavailable: ${row.pytorch}`}`);
  }
}
rmSync(root, { recursive: true, force: true });
