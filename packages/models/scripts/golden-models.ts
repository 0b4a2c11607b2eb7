/**
 * `golden clip|llama|resnet <weights.safetensors> <io.safetensors> [--backend cpu|webgpu] [--config config.json]`:
 * loads a make_goldens.py weights file into the TypeScript model (config from the file's metadata `about` JSON, or
 * --config; ResNet sizes inferred from the tensor shapes), recomputes every tensor of the io file that has a
 * counterpart (outputs, loss, gradients, generation, spliced embeddings) and prints one JSON line per tensor.
 */
import { readFile } from 'node:fs/promises';
import { cat, noGrad, openSafetensors } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import { availableBackends, compareArrays, loadGoldens } from '@segllm/tensor/testing';
import type { Goldens, Tolerance } from '@segllm/tensor/testing';
import {
  ClipVisionTransformer, D2ResNet, LlamaForCausalLM, TorchvisionResNet, causalLmLoss, generate, inferResNetConfig, loadCheckpoint,
  loadClipVision, parseClipVisionConfig, parseLlamaConfig, torchvisionToDetectron2Key,
} from '../src/index.ts';
import type { ResNetFeatureName } from '../src/index.ts';
import { emit, runCase } from './golden-io.ts';

const OUT: Tolerance = { rtol: 1e-5, atol: 1e-5 };
const GRAD: Tolerance = { rtol: 1e-4, atol: 1e-5 };

interface Args {
  weights: string;
  io: string;
  backend: string;
  config?: string;
}

async function parseArgs(kind: string, args: string[]): Promise<Args> {
  const files: string[] = [];
  let backend = 'cpu';
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--backend') backend = args[++i];
    else if (args[i] === '--config') config = args[++i];
    else files.push(args[i]);
  }
  if (files.length !== 2) throw new Error(`usage: golden ${kind} <weights.safetensors> <io.safetensors> [--backend cpu|webgpu] [--config config.json]`);
  const have = backend === 'cpu' ? ['cpu'] : await availableBackends();
  if (!have.includes(backend)) throw new Error(`backend '${backend}' is not available here (available: ${have.join(', ')})`);
  return { weights: files[0], io: files[1], backend, config };
}

/** The HF config stored in the weights file's metadata (`about.config`), or the --config file. */
async function readConfig(a: Args): Promise<unknown> {
  if (a.config) return JSON.parse(await readFile(a.config, 'utf8'));
  const f = await openSafetensors(a.weights);
  const about = f.metadata.about;
  await f.close();
  if (typeof about !== 'string') throw new Error(`${a.weights} has no metadata "about" with the model config: pass --config config.json`);
  const parsed = JSON.parse(about) as { config?: unknown };
  if (parsed.config === undefined) throw new Error(`${a.weights}: metadata "about" has no "config": pass --config config.json`);
  return parsed.config;
}

class Reporter {
  compared = 0;
  failed = 0;
  worstRel = 0;
  async tensor(name: string, actual: Tensor, expected: Tensor, tol: Tolerance): Promise<void> {
    const started = performance.now();
    if (actual.shape.join() !== expected.shape.join()) {
      this.compared++;
      this.failed++;
      emit({ name, pass: false, error: `shape [${actual.shape.join(', ')}] vs expected [${expected.shape.join(', ')}]` });
      return;
    }
    const r = compareArrays(await actual.data(), await expected.data(), tol);
    this.record(name, { shape: actual.shape, maxAbsErr: r.maxAbsErr, maxRelErr: r.maxRelErr, rtol: tol.rtol, atol: tol.atol, pass: r.ok, ms: Math.round(performance.now() - started) }, r.ok, r.maxRelErr);
  }
  ids(name: string, actual: readonly number[], expected: readonly number[]): void {
    const pass = actual.length === expected.length && actual.every((v, i) => v === expected[i]);
    const maxAbsErr = Math.max(0, ...actual.map((v, i) => Math.abs(v - (expected[i] ?? NaN))));
    this.record(name, { maxAbsErr, maxRelErr: pass ? 0 : 1, actual, expected, pass }, pass, 0);
  }
  /** A group of comparisons that may throw (a forward pass, generation): reported as one failed case if it does. */
  async guard(name: string, fn: () => Promise<void>): Promise<void> {
    if (!(await runCase(name, fn))) {
      this.compared++;
      this.failed++;
    }
  }
  skip(name: string, why: string): void {
    emit({ name, skipped: why });
  }
  private record(name: string, line: Record<string, unknown>, pass: boolean, rel: number): void {
    this.compared++;
    if (!pass) this.failed++;
    this.worstRel = Math.max(this.worstRel, rel);
    emit({ name, ...line });
  }
  summary(kind: string, a: Args): boolean {
    const ok = this.failed === 0 && this.compared > 0;
    emit({ summary: kind, backend: a.backend, weights: a.weights, io: a.io, compared: this.compared, failed: this.failed, worstMaxRelErr: this.worstRel, ok });
    return ok;
  }
}

/** Gradient lines for every `grad.<param>` tensor of the io file. */
async function compareGrads(rep: Reporter, g: Goldens, params: Map<string, Tensor>, extra: Record<string, Tensor | null> = {}): Promise<void> {
  for (const name of g.keys().filter((k) => k.startsWith('grad.'))) {
    const key = name.slice(5);
    const t = extra[key] !== undefined ? extra[key] : (params.get(key)?.grad ?? null);
    if (t) await rep.tensor(name, t, g.get(name), GRAD);
    else rep.skip(name, params.has(key) ? 'no gradient reached it' : 'no such parameter');
  }
}

export async function runClipGolden(args: string[]): Promise<boolean> {
  const a = await parseArgs('clip', args);
  const model = new ClipVisionTransformer(parseClipVisionConfig(await readConfig(a)), { backend: a.backend });
  await loadClipVision(model, a.weights);
  const g = await loadGoldens(a.io, a.backend);
  const rep = new Reporter();
  await rep.guard('forward', async () => {
    const px = g.get('pixel_values').clone();
    px.requiresGrad = true;
    const out = model.forward(px);
    await rep.tensor('last_hidden_state', out.last_hidden_state, g.get('last_hidden_state'), OUT);
    await rep.tensor('pooler_output', out.pooler_output, g.get('pooler_output'), OUT);
    if (g.has('hidden_states')) await rep.tensor('hidden_states', noGrad(() => cat(out.hidden_states.map((h) => h.unsqueeze(0)), 0)), g.get('hidden_states'), OUT);
    if (g.has('grad_weight_R')) {
      const loss = out.last_hidden_state.mul(g.get('grad_weight_R')).sum().add(out.pooler_output.square().sum());
      if (g.has('loss')) await rep.tensor('loss', loss.reshape([1]), g.get('loss'), OUT);
      loss.backward();
      await compareGrads(rep, g, new Map(model.namedParameters()), { pixel_values: px.grad });
    }
  });
  return rep.summary('clip', a);
}

export async function runLlamaGolden(args: string[]): Promise<boolean> {
  const a = await parseArgs('llama', args);
  const model = new LlamaForCausalLM(parseLlamaConfig(await readConfig(a)), { backend: a.backend });
  await loadCheckpoint(model, a.weights);
  const g = await loadGoldens(a.io, a.backend);
  const ioAbout = JSON.parse(g.metadata.about ?? '{}') as { spliced?: string };
  const rep = new Reporter();
  const ids = g.get('input_ids');
  await rep.guard('forward', async () => {
    const out = model.forward({ inputIds: ids });
    await rep.tensor('logits', out.logits!, g.get('logits'), OUT);
    if (g.has('last_hidden_state')) await rep.tensor('last_hidden_state', out.last_hidden_state, g.get('last_hidden_state'), OUT);
    if (g.has('loss')) {
      const loss = causalLmLoss(out.logits!, ids);
      await rep.tensor('loss', loss.reshape([1]), g.get('loss'), OUT);
      loss.backward();
      await compareGrads(rep, g, new Map(model.namedParameters()));
    }
  });
  if (g.has('generate.prompt') && g.has('generate.output')) {
    await rep.guard('generate.output', async () => {
      const prompt = g.get('generate.prompt');
      const expected = Array.from(await g.get('generate.output').data()).slice(prompt.shape[1]);
      const { tokens, cache } = await generate(model, prompt, { maxNewTokens: expected.length });
      rep.ids('generate.output', tokens, expected);
      cache.dispose();
    });
  }
  if (g.has('spliced.extra_embeds') && g.has('spliced.logits')) {
    await rep.guard('spliced.logits', async () => {
      const at = Number(/ids\[0,:(\d+)\]/.exec(ioAbout.spliced ?? '')?.[1] ?? 4);
      const lo = noGrad(() => {
        const emb = model.embed(ids.slice(0, 0, 1)); // [1, T, D]
        const spliced = cat([emb.slice(1, 0, at), g.get('spliced.extra_embeds'), emb.slice(1, at)], 1);
        return model.forward({ inputsEmbeds: spliced }).logits!;
      });
      await rep.tensor('spliced.logits', lo, g.get('spliced.logits'), OUT);
    });
  }
  return rep.summary('llama', a);
}

export async function runResnetGolden(args: string[]): Promise<boolean> {
  const a = await parseArgs('resnet', args);
  const f = await openSafetensors(a.weights);
  const shapes = new Map(f.keys().map((k) => [k, (f.info(k) as { shape: number[] }).shape]));
  await f.close();
  const { layout, config } = inferResNetConfig(shapes);
  const g = await loadGoldens(a.io, a.backend);
  const rep = new Reporter();
  const names = (['stem', 'res2', 'res3', 'res4', 'res5'] as ResNetFeatureName[]).filter((n) => g.has(n));
  const x = g.get('input');
  const run = (model: TorchvisionResNet | D2ResNet, tag: string) =>
    rep.guard(`${tag}forward`, async () => {
      const out = noGrad(() => model.forward(x, names));
      for (const n of names) await rep.tensor(`${tag}${n}`, out[n]!, g.get(n), OUT);
    });
  const d2 = new D2ResNet({ ...config, num_classes: 0 }, { backend: a.backend });
  if (layout === 'torchvision') {
    const tv = new TorchvisionResNet(config, { backend: a.backend });
    await loadCheckpoint(tv, a.weights);
    await run(tv, '');
    if (g.has('logits') && tv.fc) await rep.guard('logits', () => rep.tensor('logits', noGrad(() => tv.classify(x)), g.get('logits'), OUT));
    await loadCheckpoint(d2, a.weights, { rename: torchvisionToDetectron2Key });
    await run(d2, 'detectron2.');
  } else {
    await loadCheckpoint(d2, a.weights);
    await run(d2, '');
  }
  return rep.summary('resnet', a);
}
