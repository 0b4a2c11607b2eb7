/**
 * The training loop (segllm-reference.md 5.3-5.4): which parameters train, AdamW with a cosine schedule and warmup,
 * gradient accumulation and clipping, a log record per step, checkpoints every N steps that resume bit for bit
 * (weights and optimiser moments in float32, every RNG state, the data position, the loss history).
 */
import type { Tensor } from '@segllm/tensor';
import { AdamW, Generator, clipGradNorm, copyInto, cosineWithWarmup, defaultGenerator, noGrad, tidy } from '@segllm/tensor';
import type { SegLLM } from '../segllm.ts';
import type { SegLLMForSegmentation } from '../model/modeling.ts';
import { segllmTrainStep, timed } from './step.ts';
import type { SegLoss, StepProfile, StepSample } from './step.ts';
import { latestCheckpoint, readTrainCheckpoint, saveTrainCheckpoint } from './checkpoint.ts';
import type { TrainerStateJson } from './checkpoint.ts';

/** Where the batches come from: a sampler whose position is part of the checkpoint. */
export interface BatchSource {
  next(): Promise<StepSample[]>;
  state(): unknown;
  restore(state: unknown): void;
  /** Samples skipped so far for bad data (reported in the log), if the source skips. */
  skipped?(): number;
}

/** What trains. 'official': the release's fine-tuning recipe; 'all': everything (training from scratch). */
export type FreezeSpec = 'official' | 'all' | { vision: boolean; embeddings: boolean; lmHead: boolean; backboneStem: boolean };

export interface TrainerOptions {
  steps: number;
  lr: number;
  /** Fraction of the steps spent in linear warmup (the release: 0.03). */
  warmupRatio: number;
  weightDecay: number;
  betas: [number, number];
  /** Global gradient-norm clip, or null for none. */
  clip: number | null;
  /** Batches whose gradients add up before each update. */
  accumulate: number;
  freeze: FreezeSpec;
  seed: number;
  /** Output folder for checkpoints, the loss curve and the log. */
  out: string;
  saveEvery: number;
  logEvery: number;
  keep: number;
  /** Written into trainer.json (the config the run was started with). */
  config?: unknown;
  /** A benchmark's hook: the step's parts ('vision', 'llm', then the segLoss's, 'backward', 'optimizer'), timed. */
  profile?: StepProfile;
}

export const TRAINER_DEFAULTS: Omit<TrainerOptions, 'out' | 'steps'> = {
  lr: 2e-6, warmupRatio: 0.03, weightDecay: 0, betas: [0.9, 0.999], clip: null, accumulate: 1, freeze: 'official', seed: 0, saveEvery: 500, logEvery: 10, keep: 2,
};

export interface LogRecord {
  step: number;
  loss: number;
  text: number;
  seg: number | null;
  terms: Record<string, number>;
  lr: number;
  gradNorm: number | null;
  samplesPerSec: number;
  /** Share of the step's wall time: forward, backward, optimiser. */
  timing: { forwardMs: number; backwardMs: number; optimizerMs: number };
  skipped: number;
}

export interface TrainHooks {
  onLog?(r: LogRecord): void;
  onSave?(dir: string, step: number): void;
  /** Called every evalEvery steps (and at the end); metrics go into the history. */
  onEval?(step: number): Promise<Record<string, number>>;
  evalEvery?: number;
}

export class TrainConfigError extends Error {
  override readonly name = 'TrainConfigError';
}

const FREEZE_OFFICIAL = { vision: true, embeddings: true, lmHead: true, backboneStem: true };
const FREEZE_NONE = { vision: false, embeddings: false, lmHead: false, backboneStem: false };

/** Names of the parameters that train under `freeze`; the others get requiresGrad false. */
export function applyFreeze(net: SegLLMForSegmentation, freeze: FreezeSpec): Map<Tensor, string> {
  const f = freeze === 'official' ? FREEZE_OFFICIAL : freeze === 'all' ? FREEZE_NONE : freeze;
  const frozen = (name: string): boolean =>
    (f.vision && name.startsWith('model.vision_tower.')) ||
    (f.embeddings && name === 'model.embed_tokens.weight') ||
    (f.lmHead && name === 'lm_head.weight') ||
    (f.backboneStem && /^model\.segmentator\.hipie\.detr\.detr\.backbone\.0\.backbone\.(stem|res2)\./.test(name));
  const names = new Map<Tensor, string>();
  for (const [name, p] of net.namedParameters()) {
    p.requiresGrad = !frozen(name);
    if (p.requiresGrad) names.set(p, name);
  }
  return names;
}

interface History {
  log: LogRecord[];
  eval: { step: number; metrics: Record<string, number> }[];
}

export class Trainer {
  readonly net: SegLLMForSegmentation;
  readonly optimizer: AdamW;
  readonly names: Map<Tensor, string>;
  readonly rng: Generator;
  step = 0;
  history: History = { log: [], eval: [] };
  #schedule: (s: number) => number;

  constructor(
    readonly model: SegLLM,
    readonly data: BatchSource,
    readonly files: { configJson: Record<string, unknown>; tokenizerJson: string },
    readonly o: TrainerOptions,
    readonly segLoss?: (rng: Generator) => SegLoss,
  ) {
    if (!(Number.isInteger(o.steps) && o.steps > 0)) throw new TrainConfigError(`steps must be a positive integer, got ${o.steps}`);
    if (!(Number.isInteger(o.accumulate) && o.accumulate >= 1)) throw new TrainConfigError(`accumulate must be an integer >= 1, got ${o.accumulate}`);
    this.net = model.model;
    this.names = applyFreeze(this.net, o.freeze);
    if (this.names.size === 0) throw new TrainConfigError('nothing to train: every parameter is frozen');
    this.optimizer = new AdamW([...this.names.keys()], { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
    this.#schedule = cosineWithWarmup({ warmupSteps: Math.round(o.steps * o.warmupRatio), totalSteps: o.steps });
    this.rng = new Generator(o.seed);
    defaultGenerator.manualSeed(o.seed ^ 0x5eed);
  }

  get trainsVision(): boolean {
    return [...this.names.values()].some((n) => n.startsWith('model.vision_tower.'));
  }

  /** Continues from `<out>/latest.json` when it exists; returns the step resumed from (0 for a fresh run). */
  async resume(): Promise<number> {
    const dir = await latestCheckpoint(this.o.out);
    if (!dir) return 0;
    const { loadSegLLM } = await import('../checkpoint.ts');
    const backend = this.net.lm_head.weight.backend.name;
    const { model: saved } = await loadSegLLM(dir, { backend, dtype: 'float32' });
    const sd = saved.model.stateDict();
    for (const [k, t] of this.net.stateDict()) {
      const src = sd.get(k);
      if (!src) throw new TrainConfigError(`checkpoint ${dir} lacks ${k}: it was made by another model config`);
      noGrad(() => copyInto(t, src));
    }
    saved.model.dispose();
    const { state, tensors, numbers } = await readTrainCheckpoint(dir, backend);
    this.optimizer.importState(this.names, tensors, numbers);
    for (const t of tensors.values()) t.dispose();
    this.restoreState(state);
    return this.step;
  }

  /** Runs until o.steps (or `until`, to stop early as a kill would), saving every saveEvery steps and at the end. */
  async run(hooks: TrainHooks = {}, until = this.o.steps): Promise<History> {
    while (this.step < Math.min(until, this.o.steps)) {
      const rec = await this.trainStep();
      if (rec.step % this.o.logEvery === 0 || rec.step === this.o.steps || rec.step === 1) {
        this.history.log.push(rec);
        hooks.onLog?.(rec);
      }
      if (hooks.onEval && hooks.evalEvery && (this.step % hooks.evalEvery === 0 || this.step === this.o.steps)) {
        this.history.eval.push({ step: this.step, metrics: await hooks.onEval(this.step) });
      }
      if (this.step % this.o.saveEvery === 0 || this.step === this.o.steps) {
        const dir = await this.save(); // (not inside onSave?.(...): an absent hook would skip evaluating its arguments)
        hooks.onSave?.(dir, this.step);
      }
    }
    return this.history;
  }

  /** One optimiser update over `accumulate` batches. */
  async trainStep(): Promise<LogRecord> {
    const t0 = performance.now();
    const lr = this.o.lr * this.#schedule(this.step);
    this.optimizer.lr = lr;
    let fwd = 0;
    let bwd = 0;
    let samples = 0;
    const sums = { loss: 0, text: 0, seg: 0, segCount: 0 };
    const terms: Record<string, number> = {};
    const segLoss = this.segLoss?.(this.rng);
    for (let a = 0; a < this.o.accumulate; a++) {
      const batch = await this.data.next();
      samples += batch.length;
      const tf = performance.now();
      const out = await segllmTrainStep(this.net, batch, { segLoss, trainVision: this.trainsVision, profile: this.o.profile });
      const scaled = this.o.accumulate > 1 ? tidy(() => out.loss.div(this.o.accumulate)) : out.loss;
      const tb = performance.now();
      fwd += tb - tf;
      await timed(this.o.profile, 'backward', scaled.backend, () => scaled.backward());
      bwd += performance.now() - tb;
      sums.loss += (await out.loss.data())[0] / this.o.accumulate;
      sums.text += (await out.text.data())[0] / this.o.accumulate;
      if (out.seg) {
        sums.seg += (await out.seg.data())[0];
        sums.segCount++;
      }
      for (const [k, v] of out.terms) terms[k] = (terms[k] ?? 0) + (await v.data())[0] / this.o.accumulate;
      for (const t of new Set([scaled, out.loss, out.text, out.seg, ...out.terms.values()])) t?.dispose();
    }
    const to = performance.now();
    const params = [...this.names.keys()];
    let gradNorm: number | null = null;
    await timed(this.o.profile, 'optimizer', params[0].backend, async () => {
      if (this.o.clip !== null) {
        const n = clipGradNorm(params, this.o.clip);
        gradNorm = (await n.data())[0];
        n.dispose();
      }
      this.optimizer.step();
      this.optimizer.zeroGrad();
    });
    this.step++;
    const end = performance.now();
    return {
      step: this.step, loss: sums.loss, text: sums.text, seg: sums.segCount ? sums.seg / sums.segCount : null, terms, lr, gradNorm,
      samplesPerSec: samples / ((end - t0) / 1000), timing: { forwardMs: fwd, backwardMs: bwd, optimizerMs: end - to }, skipped: this.data.skipped?.() ?? 0,
    };
  }

  /** Writes a checkpoint of the current step (and the loss curve next to it). */
  async save(): Promise<string> {
    const st = this.optimizer.exportState(this.names);
    const dir = await saveTrainCheckpoint(this.o.out, {
      model: this.model, configJson: this.files.configJson, tokenizerJson: this.files.tokenizerJson, optimizer: st, state: this.stateJson(), keep: this.o.keep,
    });
    const { writeLossCurve } = await import('./curve.ts');
    await writeLossCurve(this.o.out, this.history.log);
    return dir;
  }

  stateJson(): TrainerStateJson {
    return {
      format: 'segllm-train/1', step: this.step, rng: this.rng.getState(), globalRng: defaultGenerator.getState(), data: this.data.state(), history: this.history, config: this.o.config ?? null,
    };
  }

  restoreState(s: TrainerStateJson): void {
    this.step = s.step;
    this.rng.setState(s.rng as ReturnType<Generator['getState']>);
    defaultGenerator.setState(s.globalRng as ReturnType<Generator['getState']>);
    this.data.restore(s.data);
    this.history = s.history as History;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
