/**
 * Sharded checkpoints: `*.safetensors.index.json` maps each tensor name to a shard file (`weight_map`).
 * Shards are opened lazily, the first time one of their tensors is asked for, and stay open until close().
 */
import { SafetensorsError } from './errors.ts';
import { nodeFs, nodePath as pathModule } from '#platform';
import { openSafetensors, type SafetensorsFile, type RawTensor, type SafetensorsInput, type StoredTensorInfo, type TensorStore } from './safetensors.ts';

export interface ShardIndex {
  /** The index's own `metadata` (e.g. total_size), as written. */
  metadata: Record<string, unknown>;
  /** Tensor name -> shard file name, in index order. */
  weightMap: Map<string, string>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate an index (its JSON text or parsed value). Shard names must stay inside the index's folder. */
export function parseShardIndex(input: unknown, file = '<index>'): ShardIndex {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (cause) {
      throw new SafetensorsError('INVALID_INDEX', 'the index is not valid JSON: re-download it', { file, cause });
    }
  }
  if (!isRecord(json) || !isRecord(json.weight_map)) {
    throw new SafetensorsError('INVALID_INDEX', 'the index has no "weight_map" object (tensor name -> shard file): is this a *.safetensors.index.json?', { file });
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard === '' || shard.startsWith('/') || shard.split(/[\\/]/).includes('..') || /^[a-zA-Z]:/.test(shard)) {
      throw new SafetensorsError('INVALID_INDEX', `tensor "${name}" maps to ${JSON.stringify(shard)}, not a shard file name inside the index's folder: the index is corrupt`, { file, tensor: name });
    }
    weightMap.set(name, shard);
  }
  return { metadata: isRecord(json.metadata) ? json.metadata : {}, weightMap };
}

/** Resolves a shard file name to something openSafetensors accepts, or undefined when it does not exist. */
export type ShardResolver = (shard: string) => Promise<SafetensorsInput | undefined>;

export class ShardedSafetensors implements TensorStore {
  private readonly open = new Map<string, Promise<SafetensorsFile>>();
  private closed = false;

  constructor(
    readonly index: ShardIndex,
    private readonly resolve: ShardResolver,
    readonly label = '<index>',
  ) {}

  get metadata(): Readonly<Record<string, unknown>> {
    return this.index.metadata;
  }
  keys(): string[] {
    return [...this.index.weightMap.keys()];
  }
  has(name: string): boolean {
    return this.index.weightMap.has(name);
  }
  /** The shard files, each once, in index order. */
  shards(): string[] {
    return [...new Set(this.index.weightMap.values())];
  }
  shardOf(name: string): string {
    const shard = this.index.weightMap.get(name);
    if (shard === undefined) {
      throw new SafetensorsError('TENSOR_NOT_FOUND', `the index maps no tensor named "${name}" (it lists ${this.index.weightMap.size}): check the name and any prefix`, { file: this.label, tensor: name });
    }
    return shard;
  }

  async info(name: string): Promise<StoredTensorInfo> {
    return (await this.fileFor(name)).info(name);
  }
  async read(name: string): Promise<RawTensor> {
    return (await this.fileFor(name)).read(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    const files = await Promise.allSettled(this.open.values());
    this.open.clear();
    for (const f of files) if (f.status === 'fulfilled') await f.value.close();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async fileFor(name: string): Promise<SafetensorsFile> {
    const shard = this.shardOf(name);
    if (this.closed) throw new SafetensorsError('CLOSED', 'this checkpoint was closed: open it again to read', { file: this.label });
    let pending = this.open.get(shard);
    if (pending === undefined) {
      pending = this.openShard(shard, name);
      this.open.set(shard, pending);
      pending.catch(() => this.open.delete(shard));
    }
    const file = await pending;
    if (!file.has(name)) {
      throw new SafetensorsError('SHARD_LACKS_TENSOR', `the index maps "${name}" to shard "${shard}", which does not hold it: the index and shards are from different exports; re-download them together`, { file: this.label, tensor: name });
    }
    return file;
  }

  private async openShard(shard: string, name: string): Promise<SafetensorsFile> {
    const input = await this.resolve(shard);
    if (input === undefined) {
      throw new SafetensorsError('SHARD_MISSING', `shard "${shard}" (holding "${name}") is missing: download every shard the index lists into the index's folder`, { file: this.label, tensor: name });
    }
    return openSafetensors(input);
  }
}

/** Largest shard index read (a 70B model's index is about 100 KB). */
const MAX_INDEX_BYTES = 64 << 20;

/** Open a sharded checkpoint from its `*.safetensors.index.json` path (Node); shards resolve beside it. */
export async function openShardedSafetensors(indexPath: string): Promise<ShardedSafetensors> {
  const fs = await nodeFs(`opening ${indexPath}`);
  const nodePath = await pathModule(`opening ${indexPath}`);
  const st = await fs.stat(indexPath);
  if (!st.isFile()) throw new SafetensorsError('NOT_A_FILE', `${indexPath} is a folder or device, not a shard index file: the checkpoint is damaged`, { file: indexPath });
  if (st.size > MAX_INDEX_BYTES) throw new SafetensorsError('INVALID_INDEX', `${indexPath} is ${st.size} bytes, over the ${MAX_INDEX_BYTES}-byte limit of a shard index: is this a *.safetensors.index.json?`, { file: indexPath });
  const index = parseShardIndex(await fs.readFile(indexPath, 'utf8'), indexPath);
  const dir = nodePath.dirname(indexPath);
  const resolve: ShardResolver = async (shard) => {
    const path = nodePath.join(dir, shard);
    try {
      await fs.access(path);
    } catch {
      return undefined;
    }
    return path;
  };
  return new ShardedSafetensors(index, resolve, indexPath);
}

/** Open a checkpoint path: a `*.index.json` as a sharded checkpoint, anything else as one safetensors file. */
export async function openCheckpoint(path: string): Promise<TensorStore> {
  return path.endsWith('.index.json') ? openShardedSafetensors(path) : openSafetensors(path);
}
