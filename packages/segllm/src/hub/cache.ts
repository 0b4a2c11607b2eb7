/**
 * Caches of downloaded checkpoint files, keyed by URL: a folder in Node (default `$SEGLLM_CACHE`, else
 * `$XDG_CACHE_HOME/segllm` or `~/.cache/segllm`), the Cache API in browsers. A 404 is recorded too, so that a cached
 * load makes no request at all. Files are written to a temporary name and renamed, so a reader sees a whole file or none.
 */
import { isNodePlatform, nodeFs, nodePath } from '@segllm/tensor/platform';

/** A cached file: its bytes, its path (Node: opened lazily, not read into memory), or a recorded 404. */
export type CachedFile = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'path'; path: string } | { kind: 'missing' };

export interface ModelCache {
  match(url: string): Promise<CachedFile | null>;
  put(url: string, bytes: Uint8Array): Promise<void>;
  putMissing(url: string): Promise<void>;
}

const env = (k: string): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[k];

/** The default cache folder in Node. */
export function defaultCacheDir(): string {
  const xdg = env('XDG_CACHE_HOME');
  return env('SEGLLM_CACHE') ?? (xdg ? `${xdg}/segllm` : `${env('HOME') ?? env('USERPROFILE') ?? '.'}/.cache/segllm`);
}

/** Relative path segments for a URL: host (port as `_port`), then its path segments made safe. */
function urlSegments(url: string): string[] {
  const u = new URL(url);
  const safe = (s: string): string => (s === '' || s === '.' || s === '..' ? '_' : s.replace(/[^A-Za-z0-9._-]/g, '_'));
  return [u.port ? `${u.hostname}_${u.port}` : u.hostname, ...u.pathname.split('/').filter((s) => s !== '').map((s) => safe(decodeURIComponent(s)))];
}

/** A folder cache (Node). */
export function folderCache(dir: string): ModelCache {
  const pathOf = async (url: string): Promise<string> => (await nodePath('the model cache')).join(dir, ...urlSegments(url));
  const write = async (file: string, bytes: Uint8Array): Promise<void> => {
    const fs = await nodeFs('the model cache');
    await fs.mkdir((await nodePath('the model cache')).dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${Math.random().toString(36).slice(2)}`;
    try {
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  };
  return {
    async match(url) {
      const fs = await nodeFs('the model cache');
      const file = await pathOf(url);
      if ((await fs.stat(file).catch(() => null))?.isFile()) return { kind: 'path', path: file };
      if (await fs.stat(`${file}.missing`).catch(() => null)) return { kind: 'missing' };
      return null;
    },
    put: async (url, bytes) => write(await pathOf(url), bytes),
    putMissing: async (url) => write(`${await pathOf(url)}.missing`, new Uint8Array(0)),
  };
}

/** The browser Cache API (`caches.open(name)`). */
export function browserCache(name = 'segllm-models'): ModelCache {
  const open = (): Promise<Cache> => caches.open(name);
  return {
    async match(url) {
      const res = await (await open()).match(url);
      if (!res) return null;
      if (res.status === 404) return { kind: 'missing' };
      return { kind: 'bytes', bytes: new Uint8Array(await res.arrayBuffer()) };
    },
    put: async (url, bytes) => (await open()).put(url, new Response(bytes.slice().buffer, { headers: { 'content-length': String(bytes.byteLength) } })),
    putMissing: async (url) => (await open()).put(url, new Response(null, { status: 404 })),
  };
}

/** `cache` option -> a cache: false = none, a string = that folder (Node), undefined = the platform's default. */
export function resolveCache(cache: boolean | string | ModelCache | undefined, defaultDir?: string): ModelCache | null {
  if (cache === false) return null;
  if (typeof cache === 'object') return cache;
  if (typeof cache === 'string') return folderCache(cache);
  if (isNodePlatform) return folderCache(defaultDir ?? defaultCacheDir());
  return typeof caches !== 'undefined' ? browserCache() : null;
}
