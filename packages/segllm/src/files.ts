/**
 * Where a checkpoint's files come from: a folder (Node), a base URL (fetch; browsers and Node), or a map of file name ->
 * Blob/File/bytes (a browser file picker). Weights are opened lazily (sharded through the index when present).
 */
import type { TensorStore } from '@segllm/tensor';
import { ShardedSafetensors, openSafetensors, parseShardIndex } from '@segllm/tensor';
import { openModelCheckpoint } from '@segllm/models';
import { CheckpointError } from './errors.ts';

export interface CheckpointFiles {
  readonly label: string;
  /** A text file's contents, or null when the checkpoint has none. */
  text(name: string): Promise<string | null>;
  /** The weights (`model.safetensors.index.json` + shards, or `model.safetensors`). */
  store(): Promise<TensorStore>;
}

export type CheckpointSource = string | URL | Record<string, Blob | Uint8Array> | CheckpointFiles;

function isFiles(x: unknown): x is CheckpointFiles {
  return typeof x === 'object' && x !== null && 'store' in x && 'text' in x && typeof (x as CheckpointFiles).store === 'function';
}

export function checkpointFiles(src: CheckpointSource): CheckpointFiles {
  if (isFiles(src)) return src;
  if (src instanceof URL || (typeof src === 'string' && /^https?:\/\//.test(src))) return urlFiles(String(src));
  if (typeof src === 'string') return dirFiles(src);
  return mapFiles(src, '<files>');
}

/** Largest config.json / tokenizer.json read (the release's tokenizer.json is 1.8 MB). */
const MAX_TEXT_BYTES = 64 << 20;

function dirFiles(dir: string): CheckpointFiles {
  return {
    label: dir,
    async text(name) {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      const p = path.join(dir, name);
      const size = await fs.stat(p).then(
        (st) => (st.isFile() ? st.size : -1),
        (e: unknown) => ((e as { code?: string }).code === 'ENOENT' ? null : 0),
      );
      if (size === null) return null;
      if (size > MAX_TEXT_BYTES) throw new CheckpointError(`${p} is ${size} bytes, over the ${MAX_TEXT_BYTES}-byte limit of a checkpoint's JSON files: it is not a config or tokenizer file`);
      return fs.readFile(p, 'utf8').catch((e: unknown) => {
        const code = (e as { code?: string }).code;
        throw new CheckpointError(`${p} cannot be read (${code ?? (e as Error).message}): ${code === 'EISDIR' ? 'it is a folder, not a file' : 'check that it is a readable file'}`);
      });
    },
    store: () => openModelCheckpoint(dir),
  };
}

async function blobText(b: Blob | Uint8Array): Promise<string> {
  return b instanceof Uint8Array ? new TextDecoder().decode(b) : b.text();
}

/** Shards resolved through `get` (a map lookup or a fetch). */
async function storeFrom(label: string, get: (name: string) => Promise<Blob | Uint8Array | null>): Promise<TensorStore> {
  const index = await get('model.safetensors.index.json');
  if (index) {
    return new ShardedSafetensors(parseShardIndex(await blobText(index), `${label}/model.safetensors.index.json`), async (shard) => (await get(shard)) ?? undefined, label);
  }
  const single = await get('model.safetensors');
  if (!single) throw new CheckpointError(`${label} has neither model.safetensors.index.json nor model.safetensors`);
  return openSafetensors(single);
}

function mapFiles(files: Record<string, Blob | Uint8Array>, label: string): CheckpointFiles {
  // Accept paths ('ckpt/config.json') as well as bare names.
  const byName = new Map(Object.entries(files).map(([k, v]) => [k.split('/').pop()!, v]));
  const get = (name: string) => Promise.resolve(byName.get(name) ?? null);
  return {
    label,
    text: async (name) => {
      const b = await get(name);
      return b ? blobText(b) : null;
    },
    store: () => storeFrom(label, get),
  };
}

function urlFiles(base: string): CheckpointFiles {
  const root = base.endsWith('/') ? base : `${base}/`;
  const get = async (name: string): Promise<Blob | null> => {
    const res = await fetch(new URL(name, root));
    if (res.status === 404) return null;
    if (!res.ok) throw new CheckpointError(`fetching ${root}${name} failed with HTTP ${res.status}: check the URL and that the server allows it`);
    return res.blob();
  };
  return {
    label: root,
    text: async (name) => {
      const b = await get(name);
      return b ? b.text() : null;
    },
    store: () => storeFrom(root, get),
  };
}
