/**
 * Training checkpoints: `<out>/step-NNNNNNN/` holds the model in the release layout (loadSegLLM reads it), the
 * optimiser moments (`optimizer.safetensors`) and `trainer.json` (step, RNG and sampler states, loss history, the
 * config). A checkpoint is written into a temporary folder of ours and renamed into place when complete; then
 * `<out>/latest.json` is replaced by rename. A kill at any instant leaves `latest.json` naming a complete checkpoint
 * (or no checkpoint yet). Only folders we wrote (named step-N with a trainer.json, or our `.tmp-` folders) are ever
 * removed.
 */
import type { RawTensor, Tensor } from '@segllm/tensor';
import { noGrad } from '@segllm/tensor';
import { saveSegLLM } from '../checkpoint.ts';
import type { SegLLM } from '../segllm.ts';

export const TRAINER_STATE_FILE = 'trainer.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const LATEST_FILE = 'latest.json';

export class TrainCheckpointError extends Error {
  override readonly name = 'TrainCheckpointError';
}

export interface TrainerStateJson {
  format: 'segllm-train/1';
  step: number;
  /** Anything else the trainer needs to resume (RNG states, sampler state, history, config). */
  [k: string]: unknown;
}

export interface SaveTrainCheckpoint {
  model: SegLLM;
  configJson: Record<string, unknown>;
  tokenizerJson: string;
  optimizer: { tensors: Map<string, Tensor>; numbers: Record<string, number> };
  state: TrainerStateJson;
  /** Keep this many newest checkpoints (default 2); older ones of ours are removed after latest.json moved on. */
  keep?: number;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/** Writes checkpoint `step` under `out` and points latest.json at it. Returns its folder. */
export async function saveTrainCheckpoint(out: string, c: SaveTrainCheckpoint): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.mkdir(out, { recursive: true });
  const name = checkpointName(c.state.step);
  const final = path.join(out, name);
  // Replacing the folder latest.json names would leave a kill between the removal and the rename with no checkpoint:
  // the state of that step is already there (a save right after a resume), so it stays as it is.
  if ((await latestCheckpoint(out).catch(() => null)) === final && (await exists(path.join(final, TRAINER_STATE_FILE)))) {
    await prune(out, name, c.keep ?? 2);
    return final;
  }
  const tmp = path.join(out, `.tmp-${name}-${process.pid}-${Date.now()}`);
  try {
    await saveSegLLM(c.model, tmp, { configJson: c.configJson, tokenizerJson: c.tokenizerJson, dtype: 'float32', shards: 1 });
    const entries: [string, RawTensor][] = [];
    for (const [k, t] of c.optimizer.tensors) {
      const v = noGrad(() => t.contiguous());
      entries.push([k, { dtype: v.dtype, shape: [...v.shape], data: await v.rawData() }]);
      if (v !== t) v.dispose();
    }
    const { saveSafetensors } = await import('@segllm/tensor');
    await saveSafetensors(path.join(tmp, OPTIMIZER_FILE), new Map(entries), { numbers: JSON.stringify(c.optimizer.numbers) });
    await writeFileSynced(path.join(tmp, TRAINER_STATE_FILE), JSON.stringify(c.state));
    if (await exists(final)) await removeOurCheckpoint(final); // left by a kill before latest.json moved to it
    await fs.rename(tmp, final);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const latestTmp = path.join(out, `.tmp-${LATEST_FILE}-${process.pid}`);
  await writeFileSynced(latestTmp, JSON.stringify({ checkpoint: name, step: c.state.step }));
  await fs.rename(latestTmp, path.join(out, LATEST_FILE));
  await prune(out, name, c.keep ?? 2);
  return final;
}

/** The folder latest.json names, or null when there is no checkpoint yet. */
export async function latestCheckpoint(out: string): Promise<string | null> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(path.join(out, LATEST_FILE), 'utf8');
  } catch {
    return null;
  }
  let name: unknown;
  try {
    name = (JSON.parse(text) as { checkpoint?: unknown }).checkpoint;
  } catch {
    throw new TrainCheckpointError(`${path.join(out, LATEST_FILE)} is not valid JSON: remove it to start again, or restore it`);
  }
  if (typeof name !== 'string' || !/^step-\d+$/.test(name)) throw new TrainCheckpointError(`${path.join(out, LATEST_FILE)} names no checkpoint folder ("checkpoint": "step-NNNNNNN")`);
  return path.join(out, name);
}

/** trainer.json and the optimiser tensors of a checkpoint (on `backend`). */
export async function readTrainCheckpoint(dir: string, backend?: string): Promise<{ state: TrainerStateJson; tensors: Map<string, Tensor>; numbers: Record<string, number> }> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const { openSafetensors, fromStorageArray } = await import('@segllm/tensor');
  const state = JSON.parse(await fs.readFile(path.join(dir, TRAINER_STATE_FILE), 'utf8')) as TrainerStateJson;
  if (state.format !== 'segllm-train/1' || !Number.isInteger(state.step)) throw new TrainCheckpointError(`${dir}/${TRAINER_STATE_FILE} is not a segllm training state (format segllm-train/1)`);
  const f = await openSafetensors(path.join(dir, OPTIMIZER_FILE));
  const tensors = new Map<string, Tensor>();
  try {
    for (const k of f.keys()) {
      const r = await f.read(k);
      tensors.set(k, fromStorageArray(r.data, r.shape, r.dtype, { backend }));
    }
  } finally {
    await f.close();
  }
  const numbers = JSON.parse(f.metadata.numbers ?? '{}') as Record<string, number>;
  return { state, tensors, numbers };
}

async function writeFileSynced(file: string, text: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const h = await fs.open(file, 'w');
  try {
    await h.writeFile(text);
    await h.sync();
  } finally {
    await h.close();
  }
}

async function exists(p: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.stat(p).then(() => true, () => false);
}

/** Removes a step-N folder only if it carries our trainer.json. */
async function removeOurCheckpoint(dir: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  if (!(await exists(path.join(dir, TRAINER_STATE_FILE)))) throw new TrainCheckpointError(`${dir} exists and is not a training checkpoint of ours: move it away`);
  await fs.rm(dir, { recursive: true, force: true });
}

/** Keeps the `keep` newest step folders (always the current one) and removes our stale temporary folders. */
async function prune(out: string, current: string, keep: number): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const names = await fs.readdir(out);
  const steps = names.filter((n) => /^step-\d+$/.test(n) && n !== current).sort().reverse();
  for (const n of steps.slice(Math.max(0, keep - 1))) await removeOurCheckpoint(path.join(out, n)).catch(() => undefined);
  for (const n of names) if (n.startsWith('.tmp-') && !n.includes(`-${process.pid}-`) && !n.endsWith(`-${process.pid}`)) await fs.rm(path.join(out, n), { recursive: true, force: true });
}
