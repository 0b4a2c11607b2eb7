/**
 * npm run bench -w @segllm/models -- [--json] [--backend cpu,webgpu] [--only clip,llama,resnet,hipie,hipie-loss] [--iters N] [--warmup N] [--dtype float32|float16]
 *
 * Per backend, with random weights, batch 1: CLIP-L/14 at 224 (all 24 layers), one LLaMA-7B decoder layer (prefill of
 * 640 tokens; decode of 1 token at context 640, KV cache preallocated), the detectron2 ResNet-50 at 1024x1024.
 * Each case runs `iters` timed times (default 1) after `warmup` untimed runs (default 1 on GPU backends, for shader
 * compilation; 0 on the CPU, where a run takes minutes). Times include the readback of the output. Prints a table, or one
 * JSON line per row with --json. dtype: float32 unless --dtype says otherwise.
 */
import { Generator, noGrad, randn, rotaryCosSin } from '@segllm/tensor';
import type { DType, Tensor } from '@segllm/tensor';
import { availableBackends } from '@segllm/tensor/testing';
import { KVCache, LLAMA_2_7B, LlamaDecoderLayer, buildClipVitL14, buildResNet50D2 } from '../src/index.ts';
import { benchHipie } from './hipie.bench.ts';
import { benchHipieLoss } from './hipie-loss.bench.ts';

interface Row {
  error?: string;
  backend: string;
  case: string;
  dtype: DType;
  /** Median of the timed runs, ms. */
  ms: number;
  runs: number;
  /** Approximate floating-point operations (2 x MACs of the matmuls and convolutions). */
  gflop: number;
  gflops: number;
  note?: string;
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes('--json');
const iters = Number(opt('iters') ?? 1);
const warmupOpt = opt('warmup');
const positional = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')); // e.g. `-- hipie`
const only = (opt('only') ?? (positional.length ? positional.join(',') : 'clip,llama,resnet')).split(',');
const dtype = (opt('dtype') ?? 'float32') as DType;
const have = await availableBackends();
const backends = (opt('backend')?.split(',') ?? have).filter((b) => {
  if (have.includes(b)) return true;
  console.error(`backend ${b} is not available here (available: ${have.join(', ')})`);
  return false;
});

async function time(backend: string, fn: () => Tensor | Tensor[]): Promise<{ ms: number; runs: number }> {
  const once = async () => {
    const t0 = performance.now();
    const out = noGrad(fn);
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) await o.data();
    const ms = performance.now() - t0;
    for (const o of outs) o.dispose();
    return ms;
  };
  const warmup = warmupOpt !== undefined ? Number(warmupOpt) : backend === 'cpu' ? 0 : 1;
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], runs: times.length };
}

function emit(r: Row): void {
  rows.push(r);
  if (json) console.log(JSON.stringify(r));
  else console.error(`  ${r.backend} ${r.case}: ${r.error ?? `${r.ms.toFixed(1)} ms`}`);
}

const rows: Row[] = [];

/** Runs one case; a failure (e.g. a buffer over the device's binding limit) becomes an error row. */
async function guarded(backend: string, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    emit({ backend, case: name, dtype, ms: NaN, runs: 0, gflop: NaN, gflops: NaN, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}

for (const backend of backends) {
  const o = { backend, dtype, generator: new Generator(0) };
  if (only.includes('clip')) await guarded(backend, 'CLIP-L/14 224 forward (24 layers)', async () => {
    const clip = buildClipVitL14(o);
    const px = randn([1, 3, 224, 224], o);
    const t = await time(backend, () => clip.forward(px).last_hidden_state);
    const gflop = (2 * 257 * 24 * 12 * 1024 * 1024 + 2 * 24 * 2 * 257 * 257 * 1024 + 2 * 256 * 3 * 14 * 14 * 1024) / 1e9;
    emit({ backend, case: 'CLIP-L/14 224 forward (24 layers)', dtype, ...t, gflop, gflops: gflop / (t.ms / 1000) });
    px.dispose();
    clip.dispose();
  });
  if (only.includes('llama')) await guarded(backend, 'LLaMA-7B layer', async () => {
    const cfg = LLAMA_2_7B;
    const layer = new LlamaDecoderLayer(cfg, 0, o);
    const T = 640;
    const x = randn([1, T, cfg.hidden_size], { ...o, std: 0.5 });
    const x1 = randn([1, 1, cfg.hidden_size], { ...o, std: 0.5 });
    const cs = rotaryCosSin(Array.from({ length: T + 1 }, (_, i) => i), cfg.head_dim, cfg.rope_theta, { backend });
    const cos = cs.cos.to(dtype);
    const sin = cs.sin.to(dtype);
    const cosP = cos.slice(0, 0, T);
    const sinP = sin.slice(0, 0, T);
    const cosD = cos.slice(0, T, T + 1);
    const sinD = sin.slice(0, T, T + 1);
    // The layer appends to the cache at cache.length without advancing it (the model advances after all layers), so
    // each timed prefill rewrites positions [0, 640) and each timed decode step writes position 640.
    const cache = new KVCache({ numLayers: 1, batch: 1, numKvHeads: cfg.num_key_value_heads, headDim: cfg.head_dim, maxLength: T + 1, dtype, backend });
    const perTok = 2 * (4 * 4096 * 4096 + 3 * 4096 * 11008);
    const prefill = await time(backend, () => layer.forward(x, cosP, sinP, cache));
    const gPre = (T * perTok + 2 * 2 * 32 * 128 * ((T * (T + 1)) / 2)) / 1e9;
    emit({ backend, case: 'LLaMA-7B layer prefill 640', dtype, ...prefill, gflop: gPre, gflops: gPre / (prefill.ms / 1000) });
    cache.advance(T);
    const decode = await time(backend, () => layer.forward(x1, cosD, sinD, cache));
    const gDec = (perTok + 2 * 2 * 32 * 128 * (T + 1)) / 1e9;
    emit({ backend, case: 'LLaMA-7B layer decode 1 @ 640', dtype, ...decode, gflop: gDec, gflops: gDec / (decode.ms / 1000), note: `x32 layers ~ ${(32 * decode.ms).toFixed(0)} ms/token` });
    for (const t of [cache, layer, x, x1, cs.cos, cs.sin, cos, sin, cosP, sinP, cosD, sinD]) t.dispose();
  });
  if (only.includes('resnet')) await guarded(backend, 'ResNet-50 (detectron2) 1024x1024', async () => {
    const r50 = buildResNet50D2(o);
    const img = randn([1, 3, 1024, 1024], o);
    const t = await time(backend, () => {
      const f = r50.forward(img);
      return [f.res2!, f.res3!, f.res4!, f.res5!];
    });
    const gflop = 2 * 4.1 * (1024 * 1024) / (224 * 224);
    emit({ backend, case: 'ResNet-50 (detectron2) 1024x1024', dtype, ...t, gflop, gflops: gflop / (t.ms / 1000) });
    img.dispose();
    r50.dispose();
  });
  if (only.includes('hipie')) await guarded(backend, 'HIPIE', async () => {
    for (const r of await benchHipie(o, time)) emit(r);
  });
  if (only.includes('hipie-loss')) await guarded(backend, 'HIPIE loss', async () => {
    for (const r of await benchHipieLoss(o, iters)) emit(r);
  });
}

if (!json) {
  const head = ['backend', 'case', 'dtype', 'ms (median)', 'runs', 'GFLOP', 'GFLOP/s', 'note'];
  const body = rows.map((r) => [r.backend, r.case, r.dtype, r.ms.toFixed(1), String(r.runs), r.gflop.toFixed(1), r.gflops.toFixed(2), r.error ?? r.note ?? '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  console.log([line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n'));
}
process.exit(0);
