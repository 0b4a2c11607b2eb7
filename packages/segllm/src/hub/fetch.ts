/**
 * Downloading one file: redirects followed only to allowed origins, a dropped connection resumed with an HTTP Range
 * request (bounded retries), the sha256 checked when known, progress in bytes, cancellation through an AbortSignal.
 * Every failure is a typed DownloadError.
 */
import {
  ChecksumMismatchError, RemoteFileTooLargeError, DownloadAbortedError, HttpStatusError, NetworkError, RemoteFileNotFoundError, UnsafeLocationError,
} from '../errors.ts';
import { originAllowed } from './source.ts';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Origins besides the URL's own that redirects may lead to (exact, or `https://*.example.com`). */
  allowedOrigins?: readonly string[];
  /** Expected sha256 (hex) of the whole file. */
  sha256?: string;
  /** Called as bytes arrive: bytes so far, and the file's size (0 while unknown). */
  onBytes?: (loaded: number, total: number) => void;
  /** Largest size accepted: a Content-Length or a body beyond it is a RemoteFileTooLargeError before it is buffered. */
  maxBytes?: number;
  /** Resumptions after a dropped connection (default 3). */
  retries?: number;
  fetch?: typeof fetch;
}

const MAX_REDIRECTS = 5;

function tooLarge(url: string, size: number, max: number): RemoteFileTooLargeError {
  return new RemoteFileTooLargeError(`${url} is at least ${size} bytes, over the ${max}-byte bound for this file: it is not a checkpoint's JSON file`, url);
}

function aborted(url: string, signal?: AbortSignal): DownloadAbortedError {
  return new DownloadAbortedError(`download of ${url} was aborted${signal?.reason instanceof Error ? `: ${signal.reason.message}` : ''}`, url);
}

/** One request, following redirects by hand so that each hop's origin is checked before it is requested. */
async function request(url: string, headers: Record<string, string>, o: DownloadOptions): Promise<Response> {
  const f = o.fetch ?? fetch;
  const base = new URL(url);
  let at = base;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res: Response;
    try {
      res = await f(at, { headers, signal: o.signal, redirect: 'manual' });
    } catch (e) {
      if (o.signal?.aborted) throw aborted(url, o.signal);
      throw new NetworkError(`cannot download ${at.href}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}; check the connection and the address`, at.href, { cause: e });
    }
    if (res.type === 'opaqueredirect') {
      // Browsers hide the target of a manual redirect: follow it, then check where it ended.
      res = await f(at, { headers, signal: o.signal, redirect: 'follow' });
      if (res.url && !originAllowed(new URL(res.url), base, o.allowedOrigins ?? [])) {
        await res.body?.cancel();
        throw new UnsafeLocationError(`${url} redirected to another origin (${new URL(res.url).origin}): pass it in allowedOrigins to allow it`, url);
      }
      return res;
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (location === null) return res;
    await res.body?.cancel();
    const next = new URL(location, at);
    if (!originAllowed(next, base, o.allowedOrigins ?? [])) {
      throw new UnsafeLocationError(`${url} redirects to another origin (${next.origin}): pass it in allowedOrigins to allow it`, url);
    }
    at = next;
  }
  throw new NetworkError(`${url} redirected more than ${MAX_REDIRECTS} times`, url);
}

function statusError(url: string, res: Response): Error {
  if (res.status === 404) return new RemoteFileNotFoundError(`${url} does not exist (HTTP 404): check the model id, variant and revision`, url);
  const hint = res.status === 401 || res.status === 403 ? ': the repository may be gated or private' : ': try again later';
  return new HttpStatusError(`downloading ${url} failed with HTTP ${res.status}${hint}`, url, res.status);
}

/** Appends `chunk` to `buf` (grown geometrically) at `n`; returns the buffer. */
function append(buf: Uint8Array<ArrayBuffer>, n: number, chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  if (n + chunk.byteLength > buf.byteLength) {
    const grown = new Uint8Array(Math.max(n + chunk.byteLength, buf.byteLength * 2, 1 << 16));
    grown.set(buf.subarray(0, n));
    buf = grown;
  }
  buf.set(chunk, n);
  return buf;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Downloads `url` whole; null when the server answers 404 (the caller decides whether the file was optional).
 * A connection that drops mid-body is resumed from the last byte with `Range: bytes=<n>-`.
 */
export async function download(url: string, o: DownloadOptions = {}): Promise<Uint8Array | null> {
  let buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  let n = 0;
  let total = 0;
  let lastError: unknown = null;
  let sha256 = o.sha256;
  for (let attempt = 0; attempt <= (o.retries ?? 3); attempt++) {
    if (o.signal?.aborted) throw aborted(url, o.signal);
    const res = await request(url, n > 0 ? { range: `bytes=${n}-` } : {}, o);
    if (n === 0 && res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) throw statusError(url, res);
    // The Hugging Face hub gives an LFS file's sha256 as X-Linked-Etag.
    const etag = (res.headers.get('x-linked-etag') ?? '').replace(/"/g, '');
    if (sha256 === undefined && /^[0-9a-f]{64}$/.test(etag)) sha256 = etag;
    const resumed = n > 0 && res.status === 206 && new RegExp(`^bytes ${n}-`).test(res.headers.get('content-range') ?? '');
    if (n > 0 && !resumed) n = 0; // the server ignored the range: start over
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > 0) total = n + length;
    if (o.maxBytes !== undefined && total > o.maxBytes) {
      await res.body?.cancel();
      throw tooLarge(url, total, o.maxBytes);
    }
    if (n === 0 && total > 0 && buf.byteLength < total) buf = new Uint8Array(total);
    if (!res.body) throw new NetworkError(`${url} answered without a body`, url);
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (o.maxBytes !== undefined && n + value.byteLength > o.maxBytes) throw tooLarge(url, n + value.byteLength, o.maxBytes);
        buf = append(buf, n, value);
        n += value.byteLength;
        o.onBytes?.(n, total);
      }
      if (total === 0 || n === total) return await verified(url, buf.subarray(0, n), sha256);
      lastError = new Error(`the connection closed after ${n} of ${total} bytes`);
    } catch (e) {
      if (o.signal?.aborted) throw aborted(url, o.signal);
      if (e instanceof ChecksumMismatchError || e instanceof RemoteFileTooLargeError) {
        await reader.cancel().catch(() => undefined);
        throw e;
      }
      lastError = e;
    }
  }
  throw new NetworkError(`downloading ${url} failed after ${(o.retries ?? 3) + 1} attempts (${n} of ${total || '?'} bytes): ${(lastError as Error)?.message ?? lastError}`, url, { cause: lastError });
}

async function verified(url: string, bytes: Uint8Array<ArrayBuffer>, sha256?: string): Promise<Uint8Array> {
  if (sha256 === undefined) return bytes;
  const got = await sha256Hex(bytes);
  if (got !== sha256.toLowerCase()) {
    throw new ChecksumMismatchError(`${url} is corrupt: its sha256 is ${got}, the checkpoint says ${sha256}; it was not cached, try loading again`, url);
  }
  return bytes;
}
