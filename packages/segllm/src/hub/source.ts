/**
 * Where remote checkpoint files live: a hub id (`owner/repo` or `owner/repo/variant`, resolved on a configurable
 * host in the Hugging Face layout `<host>/<owner>/<repo>/resolve/<revision>/<variant>/<file>`) or a base URL, and
 * which origins a request may reach. File names must be plain names inside the checkpoint's folder.
 */
import { UnsafeLocationError } from '../errors.ts';

/** The default remote host (the Hugging Face hub). */
export const DEFAULT_REMOTE_HOST = 'https://huggingface.co';

/** Origins the Hugging Face hub redirects large files to (its LFS and Xet CDNs). */
export const HF_REDIRECT_ORIGINS: readonly string[] = ['https://*.huggingface.co', 'https://*.hf.co'];

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** `owner/repo[/sub/folder]` with plain segments (no `.`/`..`, no `%`, no scheme). */
export function isHubId(s: string): boolean {
  const parts = s.split('/');
  return parts.length >= 2 && parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..');
}

/** The base URL (ending in '/') of a hub id's files. */
export function hubBaseUrl(id: string, host = DEFAULT_REMOTE_HOST, revision = 'main'): string {
  const [owner, repo, ...rest] = id.split('/');
  const root = host.endsWith('/') ? host : `${host}/`;
  return new URL(`${owner}/${repo}/resolve/${encodeURIComponent(revision)}/${rest.map((p) => `${p}/`).join('')}`, root).href;
}

/** Throws unless `name` is a plain file name (shard names come from a downloaded index and are untrusted). */
export function checkFileName(name: string, where: string): void {
  if (!SEGMENT.test(name) || name === '.' || name === '..') {
    throw new UnsafeLocationError(`${where} names the file ${JSON.stringify(name.slice(0, 200))}, which is not a plain file name inside the checkpoint: refusing to fetch it`, where);
  }
}

/** Whether `url`'s origin is `base`'s or matches one of `allowed` (exact origins or `https://*.example.com`). */
export function originAllowed(url: URL, base: URL, allowed: readonly string[]): boolean {
  if (url.origin === base.origin) return true;
  return allowed.some((a) => {
    const m = /^(https?:)\/\/\*\.(.+)$/.exec(a);
    if (!m) return url.origin === new URL(a).origin;
    return url.protocol === m[1] && url.hostname.endsWith(`.${m[2]}`);
  });
}
