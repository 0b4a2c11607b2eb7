/**
 * `segllm train --config <file>`: a JSON file naming the model (a config.json to build from scratch, or a checkpoint
 * to start from), the data, the schedule, what to freeze, evaluation and checkpoints. Relative paths are resolved
 * against the config file's folder. Every field is checked; a bad one is a TrainConfigError naming it.
 */
import type { FreezeSpec } from './trainer.ts';
import { TrainConfigError } from './trainer.ts';

export interface TrainRunConfig {
  /** `config`: a release-style config.json object (random init, seeded); `from`: a checkpoint folder to fine-tune. */
  model: { config?: Record<string, unknown>; from?: string; tokenizer?: string };
  data: {
    images: string;
    annotations: string[];
    /** Conversation files: each is one "dataset" of the sampler. */
    train: string[];
    /** Probability that a reference encoding is kept in training (upstream 0.5). */
    keepEncoding: number;
    /** `<seg>`s per conversation with the mask loss (upstream 2). */
    maskLossRounds: number;
  };
  steps: number;
  batch: number;
  accumulate: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  clip: number | null;
  freeze: FreezeSpec;
  seed: number;
  /** Mask-loss points per instance (upstream 12544). */
  numPoints: number;
  /** Ablations of the paper's Table 8: encodings absent in training and inference, no target for tokens 0-3. */
  ablation: { maskEncoding: boolean; boxEncoding: boolean; referenceLoss: boolean };
  out: string;
  saveEvery: number;
  logEvery: number;
  keep: number;
  eval: { every: number; conversations: string[]; annotations: string; images: string; limit: number } | null;
  backend: 'cpu' | 'cpu-wasm' | 'webgpu';
  threads: number | null;
}

const num = (o: Record<string, unknown>, k: string, d: number | undefined, check: (v: number) => boolean, what: string): number => {
  const v = o[k] ?? d;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new TrainConfigError(`config field "${k}" must be ${what}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
};
const int = (v: number) => Number.isInteger(v);
const strs = (v: unknown, k: string): string[] => {
  const a = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(a) || a.length === 0 || a.some((x) => typeof x !== 'string' || x === '')) throw new TrainConfigError(`config field "${k}" must be a file path or a non-empty list of paths`);
  return a as string[];
};
const obj = (v: unknown, k: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TrainConfigError(`config field "${k}" must be an object`);
  return v as Record<string, unknown>;
};

function parseFreeze(v: unknown): FreezeSpec {
  if (v === undefined || v === 'official' || v === 'all') return v ?? 'official';
  const o = obj(v, 'freeze');
  const b = (k: string) => {
    if (typeof o[k] !== 'boolean') throw new TrainConfigError(`config field "freeze.${k}" must be true or false ("freeze" may also be "official" or "all")`);
    return o[k];
  };
  return { vision: b('vision'), embeddings: b('embeddings'), lmHead: b('lmHead'), backboneStem: b('backboneStem') };
}

/** Validates a parsed config file; `base` resolves relative paths (the config file's folder). */
export function parseTrainConfig(json: unknown, resolve: (p: string) => string = (p) => p): TrainRunConfig {
  const o = obj(json, '<root>');
  const known = new Set(['model', 'data', 'steps', 'batch', 'accumulate', 'lr', 'warmupRatio', 'weightDecay', 'clip', 'freeze', 'seed', 'numPoints', 'ablation', 'out', 'saveEvery', 'logEvery', 'keep', 'eval', 'backend', 'threads', 'comment']);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length) throw new TrainConfigError(`unknown config field(s) ${unknown.map((k) => `"${k}"`).join(', ')}: the fields are ${[...known].join(', ')}`);
  const model = obj(o.model, 'model');
  if ((model.config === undefined) === (model.from === undefined)) throw new TrainConfigError('config field "model" needs exactly one of "config" (a config.json object: train from scratch) and "from" (a checkpoint folder)');
  const data = obj(o.data, 'data');
  const ab = o.ablation === undefined ? {} : obj(o.ablation, 'ablation');
  const flag = (k: string) => {
    if (ab[k] !== undefined && typeof ab[k] !== 'boolean') throw new TrainConfigError(`config field "ablation.${k}" must be true or false`);
    return ab[k] !== false;
  };
  const backend = o.backend ?? 'cpu-wasm';
  if (backend !== 'cpu' && backend !== 'cpu-wasm' && backend !== 'webgpu') throw new TrainConfigError(`config field "backend" must be one of cpu, cpu-wasm, webgpu, got ${JSON.stringify(backend)}`);
  if (typeof o.out !== 'string' || o.out === '') throw new TrainConfigError('config field "out" must name the run folder (checkpoints, loss curve, log)');
  const ev = o.eval === undefined || o.eval === null ? null : obj(o.eval, 'eval');
  return {
    model: {
      config: model.config === undefined ? undefined : obj(model.config, 'model.config'),
      from: typeof model.from === 'string' ? resolve(model.from) : undefined,
      tokenizer: typeof model.tokenizer === 'string' ? resolve(model.tokenizer) : undefined,
    },
    data: {
      images: resolve(strs(data.images, 'data.images')[0]),
      annotations: strs(data.annotations, 'data.annotations').map(resolve),
      train: strs(data.train, 'data.train').map(resolve),
      keepEncoding: num(data, 'keepEncoding', 0.5, (v) => v >= 0 && v <= 1, 'a probability in [0, 1]'),
      maskLossRounds: num(data, 'maskLossRounds', 2, (v) => int(v) && v >= 0, 'a non-negative integer'),
    },
    steps: num(o, 'steps', undefined, (v) => int(v) && v > 0, 'a positive integer'),
    batch: num(o, 'batch', 2, (v) => int(v) && v > 0, 'a positive integer'),
    accumulate: num(o, 'accumulate', 1, (v) => int(v) && v > 0, 'a positive integer'),
    lr: num(o, 'lr', 2e-6, (v) => v > 0, 'a positive number'),
    warmupRatio: num(o, 'warmupRatio', 0.03, (v) => v >= 0 && v <= 1, 'in [0, 1]'),
    weightDecay: num(o, 'weightDecay', 0, (v) => v >= 0, 'a non-negative number'),
    clip: o.clip === null ? null : num(o, 'clip', 5, (v) => v > 0, 'a positive number or null'),
    freeze: parseFreeze(o.freeze),
    seed: num(o, 'seed', 0, int, 'an integer'),
    numPoints: num(o, 'numPoints', 12544, (v) => int(v) && v >= 4, 'an integer >= 4'),
    ablation: { maskEncoding: flag('maskEncoding'), boxEncoding: flag('boxEncoding'), referenceLoss: flag('referenceLoss') },
    out: resolve(o.out),
    saveEvery: num(o, 'saveEvery', 500, (v) => int(v) && v > 0, 'a positive integer'),
    logEvery: num(o, 'logEvery', 10, (v) => int(v) && v > 0, 'a positive integer'),
    keep: num(o, 'keep', 2, (v) => int(v) && v > 0, 'a positive integer'),
    eval: ev && {
      every: num(ev, 'every', 500, (v) => int(v) && v > 0, 'a positive integer'),
      conversations: strs(ev.conversations, 'eval.conversations').map(resolve),
      annotations: resolve(strs(ev.annotations, 'eval.annotations')[0]),
      images: resolve(strs(ev.images, 'eval.images')[0]),
      limit: num(ev, 'limit', 50, (v) => int(v) && v > 0, 'a positive integer'),
    },
    backend,
    threads: o.threads === undefined || o.threads === null ? null : num(o, 'threads', undefined, (v) => int(v) && v > 0, 'a positive integer'),
  };
}
