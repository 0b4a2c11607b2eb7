/**
 * Loading a model from a HF-style checkpoint: a single `*.safetensors`, a sharded one through
 * `model.safetensors.index.json` (read shard by shard, tensor by tensor), or a folder holding either, plus its
 * `config.json`. Keys are mapped by a prefix chosen among candidates (the one matching most module keys) and an
 * optional rename; values are cast to the parameters' dtype (f16/bf16 checkpoints into a float32 model, or the
 * reverse). Strict by default, with a readable report of missing, unexpected and mis-shaped keys.
 */
import { openCheckpoint } from '@segllm/tensor';
import type { TensorStore } from '@segllm/tensor';
import { nodeFs, nodePath as pathModule } from '@segllm/tensor/platform';
import { StateDictError, loadSafetensorsInto } from '../nn.ts';
import type { LoadSafetensorsReport, Module } from '../nn.ts';
import { ConfigError } from './config.ts';
import type { JsonObject } from './config.ts';
import { asConfigObject } from './config.ts';

/** The checkpoint's keys do not match the model (after prefix mapping); `report` lists them. */
export class CheckpointKeyError extends Error {
  override readonly name = 'CheckpointKeyError';
  constructor(
    message: string,
    readonly missing: string[] = [],
    readonly unexpected: string[] = [],
    readonly mismatched: { key: string; expected: number[]; got: number[] }[] = [],
  ) {
    super(message);
  }
}

/** A checkpoint path that holds no safetensors file. */
export class CheckpointNotFoundError extends Error {
  override readonly name = 'CheckpointNotFoundError';
}

function list(keys: readonly string[], n = 8): string {
  return keys.length <= n ? keys.join(', ') : `${keys.slice(0, n).join(', ')}, ... (${keys.length - n} more)`;
}

/**
 * Opens a checkpoint: a `.safetensors` file, a `*.index.json`, or a folder with `model.safetensors.index.json` or
 * `model.safetensors` (Node). Close the store when done.
 */
export async function openModelCheckpoint(path: string): Promise<TensorStore> {
  const fs = await nodeFs(`opening the checkpoint ${path}`);
  const nodePath = await pathModule(`opening the checkpoint ${path}`);
  const st = await fs.stat(path).catch(() => null);
  if (!st) throw new CheckpointNotFoundError(`checkpoint "${path}" does not exist`);
  if (!st.isDirectory()) return openCheckpoint(path);
  for (const name of ['model.safetensors.index.json', 'model.safetensors']) {
    const p = nodePath.join(path, name);
    if (await fs.stat(p).catch(() => null)) return openCheckpoint(p);
  }
  const files = (await fs.readdir(path)).filter((f) => f.endsWith('.safetensors') || f.endsWith('.index.json'));
  if (files.length === 1) return openCheckpoint(nodePath.join(path, files[0]));
  throw new CheckpointNotFoundError(
    `folder "${path}" has no model.safetensors.index.json or model.safetensors${files.length ? ` (it has ${files.join(', ')}: pass one of them)` : ''}: download the checkpoint's safetensors files into it`,
  );
}

/** Reads `config.json` from a folder (or a given .json path) as an object; parse it with parseLlamaConfig etc. */
export async function readConfigJson(path: string): Promise<JsonObject> {
  const fs = await nodeFs(`reading ${path}`);
  const nodePath = await pathModule(`reading ${path}`);
  const st = await fs.stat(path).catch(() => null);
  const file = st?.isDirectory() ? nodePath.join(path, 'config.json') : path;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new ConfigError('<root>', `cannot read ${file}`);
  }
  return asConfigObject(text, file);
}

export interface LoadCheckpointOptions {
  /** Candidate key prefixes; the one under which most module keys are found is used (default ['']). */
  prefixes?: readonly string[];
  /** Maps a checkpoint key (after the prefix) to a module key, or null to skip it. */
  rename?: (key: string) => string | null;
  /** Reject missing and unexpected keys under the prefix (default true). Wrong shapes always fail. */
  strict?: boolean;
}

export interface LoadCheckpointReport extends LoadSafetensorsReport {
  /** The prefix that was stripped. */
  prefix: string;
}

/** The candidate prefix under which most of the module's keys appear in `keys`. */
export function choosePrefix(module: Module, keys: readonly string[], prefixes: readonly string[], rename?: (k: string) => string | null): string {
  const want = new Set(module.stateDict().keys());
  let best = prefixes[0] ?? '';
  let bestCount = -1;
  for (const p of prefixes) {
    let n = 0;
    for (const k of keys) {
      if (!k.startsWith(p)) continue;
      const mk = rename ? rename(k.slice(p.length)) : k.slice(p.length);
      if (mk !== null && want.has(mk)) n++;
    }
    if (n > bestCount) {
      best = p;
      bestCount = n;
    }
  }
  if (bestCount <= 0 && want.size > 0) {
    throw new CheckpointKeyError(
      `none of the checkpoint's ${keys.length} keys (${list(keys, 5)}) is a key of this model under the prefixes ${prefixes.map((p) => JSON.stringify(p)).join(', ')}; ` +
        `the model expects keys like ${list([...want], 5)}: is this the right checkpoint (or does it need another prefix)?`,
    );
  }
  return best;
}

/** A view of a sharded store whose keys come shard by shard (in the index's shard order), so shards are read in turn. */
function shardOrdered(store: TensorStore): TensorStore {
  const sharded = store as TensorStore & { shards?: () => string[]; shardOf?: (k: string) => string };
  if (typeof sharded.shards !== 'function' || typeof sharded.shardOf !== 'function') return store;
  const rank = new Map(sharded.shards().map((s, i) => [s, i]));
  const keys = store.keys().map((k, i) => ({ k, i, r: rank.get(sharded.shardOf!(k)) ?? 0 }));
  keys.sort((a, b) => a.r - b.r || a.i - b.i);
  const ordered = keys.map((e) => e.k);
  return {
    get metadata() {
      return store.metadata;
    },
    keys: () => ordered,
    has: (k) => store.has(k),
    info: (k) => store.info(k),
    read: (k) => store.read(k),
    close: () => store.close(),
  };
}

/** Loads `source` (a path as for openModelCheckpoint, or an open store) into `module`; see the file comment. */
export async function loadCheckpoint(module: Module, source: string | TensorStore, o: LoadCheckpointOptions = {}): Promise<LoadCheckpointReport> {
  const store = typeof source === 'string' ? await openModelCheckpoint(source) : source;
  try {
    const prefix = choosePrefix(module, store.keys(), o.prefixes ?? [''], o.rename);
    try {
      const r = await loadSafetensorsInto(module, shardOrdered(store), { prefix, rename: o.rename, strict: o.strict ?? true });
      return { ...r, prefix };
    } catch (e) {
      if (!(e instanceof StateDictError)) throw e;
      const parts: string[] = [];
      if (e.missing.length) parts.push(`${e.missing.length} model keys are missing from the checkpoint: ${list(e.missing)}`);
      if (e.unexpected.length) parts.push(`${e.unexpected.length} checkpoint keys have no place in the model: ${list(e.unexpected)}`);
      if (e.mismatched.length) {
        parts.push(`${e.mismatched.length} have the wrong shape: ${e.mismatched.slice(0, 8).map((m) => `${m.key} is [${m.got.join(', ')}], the model wants [${m.expected.join(', ')}]`).join('; ')}`);
      }
      throw new CheckpointKeyError(
        `checkpoint does not match the model (key prefix ${JSON.stringify(prefix)}):\n  ${parts.join('\n  ')}\n` +
          'Check that config.json belongs to this checkpoint; pass strict: false to load the keys that match.',
        e.missing,
        e.unexpected,
        e.mismatched,
      );
    }
  } finally {
    if (typeof source === 'string') await store.close();
  }
}
