/**
 * Where a checkpoint's files come from: a folder (Node), a hub id (`owner/repo/variant` on a configurable host), a
 * base URL (fetch; browsers and Node), or a map of file name -> Blob/File/bytes (a browser file picker). Remote files
 * go through a cache (a folder in Node, the Cache API in browsers) and are downloaded with resume and checksums
 * (./hub). Weights are opened lazily (sharded through the index when present).
 */
import type { TensorStore, SafetensorsInput } from '@segllm/tensor';
import { ShardedSafetensors, openSafetensors, parseShardIndex } from '@segllm/tensor';
import { isNodePlatform, nodeFs, nodePath } from '@segllm/tensor/platform';
import { openModelCheckpoint } from '@segllm/models';
import { CheckpointError, RemoteFileNotFoundError } from './errors.ts';
import { resolveCache, type ModelCache } from './hub/cache.ts';
import { download } from './hub/fetch.ts';
import { DEFAULT_REMOTE_HOST, HF_REDIRECT_ORIGINS, checkFileName, hubBaseUrl, isHubId } from './hub/source.ts';

export interface CheckpointFiles {
  readonly label: string;
  /** A text file's contents, or null when the checkpoint has none. */
  text(name: string): Promise<string | null>;
  /** The weights (`model.safetensors.index.json` + shards, or `model.safetensors`). */
  store(): Promise<TensorStore>;
}

export type CheckpointSource = string | URL | Record<string, Blob | Uint8Array> | CheckpointFiles;

/** Bytes of one remote file as they arrive (`fromCache`: served by the cache, no request made). */
export interface FileProgress {
  file: string;
  loaded: number;
  /** 0 while the server has not said. */
  total: number;
  fromCache: boolean;
}

export interface RemoteOptions {
  /** Host of hub ids (default https://huggingface.co), in the layout `<host>/<owner>/<repo>/resolve/<revision>/...`. */
  remoteHost?: string;
  /** Branch, tag or commit of hub ids (default 'main'). */
  revision?: string;
  /** false: no cache; a folder (Node); a ModelCache; default: ~/.cache/segllm in Node, the Cache API in browsers. */
  cache?: boolean | string | ModelCache;
  signal?: AbortSignal;
  /** Origins besides the checkpoint's own that redirects may lead to (default for the HF hub: its CDNs). */
  allowedOrigins?: readonly string[];
  onFile?: (p: FileProgress) => void;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

function isFiles(x: unknown): x is CheckpointFiles {
  return typeof x === 'object' && x !== null && 'store' in x && 'text' in x && typeof (x as CheckpointFiles).store === 'function';
}

const PATH_LIKE = /^(\.{1,2}[\\/]|[\\/]|~|[A-Za-z]:[\\/])/;

export function checkpointFiles(src: CheckpointSource, o: RemoteOptions = {}): CheckpointFiles {
  if (isFiles(src)) return src;
  if (src instanceof URL || (typeof src === 'string' && /^https?:\/\//.test(src))) return urlFiles(String(src), o, o.allowedOrigins ?? []);
  if (typeof src === 'string') {
    if (PATH_LIKE.test(src) || !isHubId(src)) return dirFiles(src);
    const hub = (): CheckpointFiles => {
      const host = o.remoteHost ?? DEFAULT_REMOTE_HOST;
      const allowed = o.allowedOrigins ?? (new URL(host).origin === DEFAULT_REMOTE_HOST ? HF_REDIRECT_ORIGINS : []);
      return urlFiles(hubBaseUrl(src, host, o.revision), o, allowed, src);
    };
    // In Node an existing folder wins over a hub id of the same spelling.
    return isNodePlatform ? lazyFiles(src, async () => ((await nodeFs(src).then((fs) => fs.stat(src)).catch(() => null))?.isDirectory() ? dirFiles(src) : hub())) : hub();
  }
  return mapFiles(src, '<files>');
}

/** Largest config.json / tokenizer.json read (the release's tokenizer.json is 1.8 MB). */
const MAX_TEXT_BYTES = 64 << 20;

/** Files whose source is decided on first use. */
function lazyFiles(label: string, pick: () => Promise<CheckpointFiles>): CheckpointFiles {
  let picked: Promise<CheckpointFiles> | null = null;
  const get = (): Promise<CheckpointFiles> => (picked ??= pick());
  return { label, text: async (name) => (await get()).text(name), store: async () => (await get()).store() };
}

function dirFiles(dir: string): CheckpointFiles {
  return {
    label: dir,
    async text(name) {
      const fs = await nodeFs(`reading the checkpoint folder ${dir}`);
      const path = await nodePath(dir);
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

/** Shards resolved through `get` (a map lookup or a download); `sha256` of a shard when the index gives one. */
async function storeFrom(label: string, get: (name: string, sha256?: string) => Promise<SafetensorsInput | null>): Promise<TensorStore> {
  const index = await get('model.safetensors.index.json');
  if (index) {
    const text = typeof index === 'string' ? await (await nodeFs(label)).readFile(index, 'utf8') : await blobText(index as Blob | Uint8Array);
    const parsed = parseShardIndex(text, `${label}/model.safetensors.index.json`);
    const sums = (parsed.metadata.sha256 ?? {}) as Record<string, unknown>;
    return new ShardedSafetensors(parsed, async (shard) => (await get(shard, typeof sums[shard] === 'string' ? sums[shard] : undefined)) ?? undefined, label);
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

/** Remote files under `base`, through the cache; a 404 is remembered as missing. */
function urlFiles(base: string, o: RemoteOptions, allowedOrigins: readonly string[], label?: string): CheckpointFiles {
  const root = base.endsWith('/') ? base : `${base}/`;
  const cache = resolveCache(o.cache);
  const get = async (name: string, sha256?: string): Promise<Uint8Array | string | null> => {
    checkFileName(name, `${label ?? root}`);
    const url = new URL(name, root).href;
    const hit = await cache?.match(url);
    if (hit) {
      if (hit.kind === 'missing') return null;
      const size = hit.kind === 'bytes' ? hit.bytes.byteLength : (await (await nodeFs(url)).stat(hit.path)).size;
      o.onFile?.({ file: name, loaded: size, total: size, fromCache: true });
      return hit.kind === 'bytes' ? hit.bytes : hit.path;
    }
    const maxBytes = name.endsWith('.json') ? MAX_TEXT_BYTES : undefined; // config, tokenizer, index: JSON is bounded
    const bytes = await download(url, { signal: o.signal, allowedOrigins, sha256, fetch: o.fetch, maxBytes, onBytes: (loaded, total) => o.onFile?.({ file: name, loaded, total, fromCache: false }) });
    if (bytes === null) await cache?.putMissing(url);
    else await cache?.put(url, bytes);
    return bytes;
  };
  const text = async (name: string): Promise<string | null> => {
    const b = await get(name);
    if (b === null && name === 'config.json') {
      throw new RemoteFileNotFoundError(`${new URL(name, root).href} does not exist (HTTP 404): check the model id, variant and revision`, new URL(name, root).href);
    }
    if (b === null) return null;
    return typeof b === 'string' ? (await nodeFs(b)).readFile(b, 'utf8') : new TextDecoder().decode(b);
  };
  return { label: label ?? root, text, store: () => storeFrom(label ?? root, get) };
}
