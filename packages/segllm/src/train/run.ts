/**
 * A training run from a config file (what `segllm train` does): build or load the model on the configured backend,
 * open the data, make the trainer with HIPIE's loss, resume from `<out>/latest.json` when asked, and run. Node only.
 */
import { Tokenizer } from '@segllm/models';
import { initCpuWasm, initWebGPU, manualSeed } from '@segllm/tensor';
import { SegLLM } from '../segllm.ts';
import { SegLLMForSegmentation } from '../model/modeling.ts';
import { parseSegLLMConfig } from '../model/config.ts';
import { bundledTokenizerJson } from '../model/bundled.ts';
import { defaultDecoder, loadSegLLM } from '../checkpoint.ts';
import { parseTrainConfig, type TrainRunConfig } from './config.ts';
import { TrainDataset } from './dataset.ts';
import { TrainSampler } from './sampler.ts';
import { DatasetSource } from './source.ts';
import { hipieSegLoss } from './hipie-loss.ts';
import { Trainer, TrainConfigError, type TrainHooks } from './trainer.ts';
import type { StepProfile } from './step.ts';

/** Reads and validates a config file (paths relative to its folder). */
export async function readTrainConfig(file: string): Promise<TrainRunConfig> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new TrainConfigError(`cannot read the training config ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TrainConfigError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const dir = path.dirname(path.resolve(file));
  return parseTrainConfig(json, (p) => path.resolve(dir, p));
}

async function startBackend(c: TrainRunConfig): Promise<void> {
  if (c.backend === 'cpu-wasm') await initCpuWasm(c.threads ? { threads: c.threads } : {});
  if (c.backend === 'webgpu') await initWebGPU();
}

/** The model the run starts from, its config.json object and tokenizer.json text. */
async function startModel(c: TrainRunConfig): Promise<{ model: SegLLM; configJson: Record<string, unknown>; tokenizerJson: string }> {
  const fs = await import('node:fs/promises');
  // The Table 8 ablations live in the model's config.json, so inference of the saved checkpoint zeroes them too.
  const ablate = (j: Record<string, unknown>) => ({ ...j, ...(c.ablation.maskEncoding ? {} : { segllm_mask_encoding: false }), ...(c.ablation.boxEncoding ? {} : { segllm_box_encoding: false }) });
  if (c.model.from) {
    const configJson = ablate(JSON.parse(await fs.readFile(`${c.model.from}/config.json`, 'utf8')) as Record<string, unknown>);
    const { model: loaded } = await loadSegLLM(c.model.from, { backend: c.backend, dtype: 'float32' });
    const net = new SegLLMForSegmentation(parseSegLLMConfig(configJson), defaultDecoder(parseSegLLMConfig(configJson)));
    if (c.backend !== 'cpu') await net.to(c.backend);
    net.loadStateDict(loaded.model.stateDict(), { strict: true });
    loaded.model.dispose();
    return { model: new SegLLM(net, loaded.tokenizer), configJson, tokenizerJson: await fs.readFile(`${c.model.from}/tokenizer.json`, 'utf8') };
  }
  const configJson = ablate(c.model.config!);
  const tokenizerJson = c.model.tokenizer ? await fs.readFile(c.model.tokenizer, 'utf8') : await bundledTokenizerJson();
  manualSeed(c.seed);
  const config = parseSegLLMConfig(configJson);
  const net = new SegLLMForSegmentation(config, defaultDecoder(config));
  if (c.backend !== 'cpu') await net.to(c.backend);
  return { model: new SegLLM(net, Tokenizer.fromString(tokenizerJson)), configJson, tokenizerJson };
}

export interface TrainRun {
  config: TrainRunConfig;
  model: SegLLM;
  trainer: Trainer;
  dataset: TrainDataset;
  /** The step resumed from (0 for a fresh run). */
  resumedFrom: number;
}

/** Everything a run needs, resumed from the run folder when `resume` and a checkpoint exists. */
export async function prepareTrainRun(c: TrainRunConfig, o: { resume?: boolean; profile?: StepProfile } = {}): Promise<TrainRun> {
  await startBackend(c);
  const { model, configJson, tokenizerJson } = await startModel(c);
  const net = model.model;
  const dataset = await TrainDataset.open(c.data.train, {
    images: c.data.images, annotations: c.data.annotations, tokenizer: model.tokenizer, config: net.config,
    keepEncoding: c.data.keepEncoding, maskLossRounds: c.data.maskLossRounds,
  });
  const source = new DatasetSource(dataset, new TrainSampler(dataset.sizes, c.batch, c.seed));
  const trainer = new Trainer(
    model, source, { configJson, tokenizerJson },
    { steps: c.steps, lr: c.lr, warmupRatio: c.warmupRatio, weightDecay: c.weightDecay, betas: [0.9, 0.999], clip: c.clip, accumulate: c.accumulate, freeze: c.freeze, seed: c.seed, out: c.out, saveEvery: c.saveEvery, logEvery: c.logEvery, keep: c.keep, config: c, profile: o.profile },
    (rng) => hipieSegLoss(net, rng, { numPoints: c.numPoints, noReferenceLoss: !c.ablation.referenceLoss, profile: o.profile }),
  );
  const resumedFrom = o.resume ? await trainer.resume() : 0;
  return { config: c, model, trainer, dataset, resumedFrom };
}

/** Runs a prepared run to its last step. */
export function runTraining(r: TrainRun, hooks: TrainHooks = {}): ReturnType<Trainer['run']> {
  return r.trainer.run(hooks);
}
