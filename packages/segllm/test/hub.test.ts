/**
 * Loading from a hub id over HTTP against a local server on 127.0.0.1 (bounded, stops by itself): a connection
 * dropped half-way is resumed with a Range request, a corrupt byte is a checksum error and is not cached, a 404 and
 * other statuses are typed errors, the second load comes from the cache with zero requests, shard names and redirects
 * cannot leave the checkpoint's folder or origin, and an AbortSignal stops the download.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@segllm/models';
import { manualSeed } from '@segllm/tensor';
import {
  ChecksumMismatchError, DownloadAbortedError, HttpStatusError, InvalidOptionError, NetworkError, RemoteFileNotFoundError, SegLLM, SegLLMForSegmentation, UnsafeLocationError,
  bundledTokenizerJson, defaultDecoder, loadSegLLM, saveSegLLM, tinySegLLMConfig, tinySegLLMConfigJson, type LoadProgress,
} from '@segllm/core';

const REQUEST_LIMIT = 400;
const root = mkdtempSync(join(tmpdir(), 'segllm-hub-'));
const ckpt = join(root, 'ckpt');
const files = new Map<string, Buffer>();
/** Requests as `<method> <path> [range]`; tests clear it. */
const log: string[] = [];
/** Per-path behaviour: 'drop' once (half the body, then the socket is destroyed), 'corrupt', a status, or a redirect. */
const behave = new Map<string, { drop?: boolean; corrupt?: boolean; status?: number; redirect?: string }>();
let server: Server;
let base = '';
let shardNames: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  log.push(`${req.method} ${url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
  if (log.length > REQUEST_LIMIT) return void res.writeHead(503).end();
  const b = behave.get(url) ?? {};
  if (b.status) return void res.writeHead(b.status).end();
  if (b.redirect) return void res.writeHead(302, { location: b.redirect }).end();
  const m = /^\/org\/tiny\/resolve\/main\/v1\/([^/]+)$/.exec(url);
  const body = m ? files.get(m[1]) : undefined;
  if (!body) return void res.writeHead(404).end();
  let data = body;
  if (b.corrupt) {
    data = Buffer.from(body);
    data[data.length >> 1] ^= 0x40;
  }
  const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
  if (range) {
    const start = Number(range[1]);
    res.writeHead(206, { 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}`, 'accept-ranges': 'bytes' });
    return void res.end(data.subarray(start));
  }
  res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
  if (b.drop) {
    behave.delete(url);
    res.write(data.subarray(0, data.length >> 1), () => res.socket?.destroy());
    return;
  }
  res.end(data);
}

beforeAll(async () => {
  manualSeed(5);
  const tokJson = await bundledTokenizerJson();
  const cfg = tinySegLLMConfig();
  const model = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), Tokenizer.fromString(tokJson));
  await saveSegLLM(model, ckpt, { shards: 2, configJson: tinySegLLMConfigJson(), tokenizerJson: tokJson });
  model.dispose();
  for (const f of readdirSync(ckpt)) files.set(f, readFileSync(join(ckpt, f)));
  shardNames = readdirSync(ckpt).filter((f) => f.endsWith('.safetensors')).sort();
  // The index carries each shard's sha256 (metadata.sha256), as the loader checks when given.
  const index = JSON.parse(files.get('model.safetensors.index.json')!.toString()) as { metadata: Record<string, unknown> };
  index.metadata.sha256 = Object.fromEntries(shardNames.map((s) => [s, createHash('sha256').update(files.get(s)!).digest('hex')]));
  files.set('model.safetensors.index.json', Buffer.from(JSON.stringify(index)));
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  setTimeout(() => server.close(), 300_000).unref(); // stops by itself
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 120_000);

afterAll(() => {
  server?.close();
  server?.closeAllConnections();
  rmSync(root, { recursive: true, force: true });
});

const cacheDir = (name: string): string => join(root, `cache-${name}`);
const load = (cache: string | false, extra: Parameters<typeof loadSegLLM>[1] = {}) => loadSegLLM('org/tiny/v1', { remoteHost: base, cache, device: 'cpu', ...extra });

describe('loading from a hub id over HTTP', () => {
  it('resumes a dropped download with a Range request, then serves the second load from the cache with zero requests', async () => {
    const shard = `/org/tiny/resolve/main/v1/${shardNames[0]}`;
    behave.set(shard, { drop: true });
    log.length = 0;
    const events: LoadProgress[] = [];
    const { model } = await load(cacheDir('a'), { progress: (p) => events.push(p) });
    const size = files.get(shardNames[0])!.length;
    expect(log).toContain(`GET ${shard} bytes=${size >> 1}-`);
    // Per-file bytes: the last download event of each shard has its whole size; the overall total sums the files.
    const lastOf = (f: string) => events.filter((e) => e.phase === 'download' && e.name === f).at(-1)!;
    for (const s of shardNames) expect([lastOf(s).fileLoaded, lastOf(s).fileTotal]).toEqual([files.get(s)!.length, files.get(s)!.length]);
    const allBytes = [...files.values()].reduce((a, b) => a + b.length, 0);
    expect(events.filter((e) => e.phase === 'download').at(-1)!.total).toBe(allBytes);
    expect(events.at(-1)!.phase).toBe('load');
    const session = await model.chat({ width: 20, height: 16, channels: 3, data: new Uint8Array(20 * 16 * 3).fill(90) });
    const r1 = await session.ask('Segment the square.');
    model.dispose();

    log.length = 0;
    const cachedEvents: LoadProgress[] = [];
    const { model: again } = await load(cacheDir('a'), { progress: (p) => cachedEvents.push(p) });
    expect(log).toEqual([]);
    expect(cachedEvents.filter((e) => e.phase === 'download').every((e) => e.fromCache)).toBe(true);
    const r2 = await (await again.chat({ width: 20, height: 16, channels: 3, data: new Uint8Array(20 * 16 * 3).fill(90) })).ask('Segment the square.');
    expect(r2.box).toEqual(r1.box);
    expect(Array.from(r2.mask)).toEqual(Array.from(r1.mask));
    again.dispose();
  });

  it('rejects a corrupt byte with ChecksumMismatchError and caches nothing of that file', async () => {
    const shard = `/org/tiny/resolve/main/v1/${shardNames[1]}`;
    behave.set(shard, { corrupt: true });
    try {
      await expect(load(cacheDir('b'))).rejects.toBeInstanceOf(ChecksumMismatchError);
    } finally {
      behave.delete(shard);
    }
    const cached = readdirSync(join(cacheDir('b'), '127.0.0.1_' + base.split(':').pop(), 'org', 'tiny', 'resolve', 'main', 'v1'));
    expect(cached).not.toContain(shardNames[1]);
    expect(cached.some((f) => f.includes('.tmp-'))).toBe(false);
  });

  it('a missing repository is RemoteFileNotFoundError, a server error HttpStatusError, both naming the URL', async () => {
    await expect(loadSegLLM('org/absent/v1', { remoteHost: base, cache: false, device: 'cpu' })).rejects.toThrow(RemoteFileNotFoundError);
    await expect(loadSegLLM('org/absent/v1', { remoteHost: base, cache: false, device: 'cpu' })).rejects.toThrow(`${base}/org/absent/resolve/main/v1/config.json`);
    behave.set('/org/tiny/resolve/main/v1/config.json', { status: 500 });
    try {
      const e = await load(false).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HttpStatusError);
      expect((e as HttpStatusError).status).toBe(500);
    } finally {
      behave.delete('/org/tiny/resolve/main/v1/config.json');
    }
  });

  it('an unreachable host is NetworkError, an unknown device or dtype InvalidOptionError listing the valid ones', async () => {
    const e = await loadSegLLM('org/tiny/v1', { remoteHost: 'http://127.0.0.1:1', cache: false, device: 'cpu' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).url).toBe('http://127.0.0.1:1/org/tiny/resolve/main/v1/config.json');
    await expect(load(false, { device: 'tpu' as 'cpu' })).rejects.toThrow(new InvalidOptionError('device', 'tpu', ['auto', 'webgpu', 'cpu-wasm', 'cpu']).message);
    await expect(load(false, { dtype: 'int8' as 'float16' })).rejects.toThrow("dtype must be one of 'float32', 'float16', 'bfloat16'; got 'int8'");
  });

  it('refuses shard names outside the folder and redirects to another origin unless allowed', async () => {
    const index = files.get('model.safetensors.index.json')!;
    for (const bad of ['%2e%2e/secret.txt', 'http://other-host/x.safetensors', '..']) {
      const j = JSON.parse(index.toString()) as { weight_map: Record<string, string> };
      j.weight_map[Object.keys(j.weight_map)[0]] = bad;
      files.set('model.safetensors.index.json', Buffer.from(JSON.stringify(j)));
      log.length = 0;
      await expect(load(false)).rejects.toThrow(/UnsafeLocation|not a plain file name|inside the index's folder/);
      expect(log.some((l) => l.includes('secret') || l.includes('other-host'))).toBe(false);
    }
    files.set('model.safetensors.index.json', index);
    // localhost is another origin than 127.0.0.1: refused before it is requested, followed when allowed.
    const port = base.split(':').pop();
    behave.set('/org/tiny/resolve/main/v1/config.json', { redirect: `http://localhost:${port}/org/tiny/resolve/main/v1/tokenizer.json` });
    try {
      await expect(load(false)).rejects.toBeInstanceOf(UnsafeLocationError);
      log.length = 0;
      await expect(load(false, { allowedOrigins: [`http://localhost:${port}`] })).rejects.toThrow(); // the "config" is the tokenizer now
      expect(log).toContain('GET /org/tiny/resolve/main/v1/tokenizer.json');
    } finally {
      behave.delete('/org/tiny/resolve/main/v1/config.json');
    }
  });

  it('stops at an AbortSignal with DownloadAbortedError', async () => {
    const ac = new AbortController();
    ac.abort(new Error('user cancelled'));
    await expect(load(false, { signal: ac.signal })).rejects.toBeInstanceOf(DownloadAbortedError);
    const mid = new AbortController();
    const e = await load(false, { signal: mid.signal, progress: (p) => p.phase === 'download' && p.name.endsWith('.safetensors') && mid.abort() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DownloadAbortedError);
  });

  it('bounds a file by maxBytes (JSON files: 64 MiB) whether or not the server says its length (issue 17, point 10)', async () => {
    const { download } = await import('../src/hub/fetch.ts');
    const { RemoteFileTooLargeError } = await import('../src/errors.ts');
    const body = new Uint8Array(1000).fill(32);
    const withLength: typeof fetch = () => Promise.resolve(new Response(body, { headers: { 'content-length': '1000' } }));
    const streamed: typeof fetch = () => Promise.resolve(new Response(new ReadableStream({ start(c) { for (let i = 0; i < 10; i++) c.enqueue(body.subarray(i * 100, i * 100 + 100)); c.close(); } })));
    for (const f of [withLength, streamed]) {
      await expect(download('http://127.0.0.1:1/config.json', { fetch: f, maxBytes: 300 })).rejects.toThrow(RemoteFileTooLargeError);
      expect((await download('http://127.0.0.1:1/config.json', { fetch: f, maxBytes: 1000 }))!.byteLength).toBe(1000);
    }
  });
});
