/**
 * Replacing a folder (a checkpoint) so that a complete old or new version exists at every instant (Node).
 *
 * Sequence, next to the target `<parent>/<name>`:
 *   1. write into `.<name>.tmp-<pid>-<id>` (a kill here leaves the old folder untouched);
 *   2. rename it to `.<name>.new-<pid>-<id>`: the rename marks it complete;
 *   3. rename the old folder to `.<name>.old-<pid>-<id>`, then the new one to `<name>`;
 *   4. delete the old one.
 * Between the two renames of step 3 `<name>` is briefly absent (a directory cannot be exchanged atomically from
 * Node); `recoverReplacedDir` (run by every replace and by the loaders) then moves the complete new folder, or else
 * the old one, back to `<name>`. Stale temporary folders of dead processes are removed; nothing else is deleted: a
 * target that is not empty and not recognised by `owns` is refused.
 */
import { nodeFs, nodePath } from '@segllm/tensor/platform';

/** node:fs/promises and node:path through @segllm/tensor/platform (browser bundles get a stub that throws NodeOnlyError). */
async function node() {
  return { fs: await nodeFs('replacing a folder'), path: await nodePath('replacing a folder') };
}

/** A target folder this library refuses to replace, or a replacement that failed. */
export class DirReplaceError extends Error {
  override readonly name = 'DirReplaceError';
}

export interface ReplaceDirOptions {
  /** Whether an existing non-empty target holding these entries is ours to replace (default: never). */
  owns?: (entries: string[]) => boolean;
  /** What the folder holds, for messages (default "folder"). */
  what?: string;
}

const TEMP = /^\.(.+)\.(tmp|new|old)-(\d+)-[0-9a-f]+$/;
/** `<name>.tmp-<pid>-<ms>`: the temporary folder of saveSegLLM before this module (never cleaned up then). */
const LEGACY_TEMP = /^(.+)\.(tmp)-(\d+)-\d{13}$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

async function entries(dir: string): Promise<string[] | null> {
  const { fs } = await node();
  try {
    return await fs.readdir(dir);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new DirReplaceError(`${dir} exists and is not a folder: choose another path`);
    throw e;
  }
}

/** Our temporary siblings of `dir` left by processes that are no longer running, by kind. */
async function staleTemps(dir: string): Promise<{ tmp: string[]; new: string[]; old: string[] }> {
  const { path } = await node();
  const out = { tmp: [] as string[], new: [] as string[], old: [] as string[] };
  const name = path.basename(dir);
  for (const e of (await entries(path.dirname(dir))) ?? []) {
    const m = TEMP.exec(e) ?? LEGACY_TEMP.exec(e);
    if (m && m[1] === name && !alive(Number(m[3]))) out[m[2] as 'tmp' | 'new' | 'old'].push(path.join(path.dirname(dir), e));
  }
  return out;
}

/**
 * Repairs what an interrupted replace left next to `dir`: a missing `dir` gets the complete new version back (else
 * the old one); stale temporary folders of dead processes are removed. Returns what it moved into place, if anything.
 */
export async function recoverReplacedDir(target: string): Promise<'new' | 'old' | null> {
  const { fs, path } = await node();
  const dir = path.resolve(target);
  const stale = await staleTemps(dir);
  let restored: 'new' | 'old' | null = null;
  if ((await entries(dir)) === null) {
    restored = stale.new.length > 0 ? 'new' : stale.old.length > 0 ? 'old' : null;
    const from = (restored === 'new' ? stale.new : stale.old).sort().pop();
    if (from !== undefined) await fs.rename(from, dir);
  }
  for (const p of [...stale.tmp, ...stale.new, ...stale.old]) {
    if ((await entries(p)) !== null) await fs.rm(p, { recursive: true, force: true });
  }
  return restored;
}

/**
 * Replaces folder `target` with what `write(tmp)` puts into a fresh temporary folder: the old folder stays complete
 * until the new one is complete and in place. Refuses a non-empty target that `owns` does not recognise.
 */
export async function replaceDirAtomically(target: string, write: (tmp: string) => Promise<void>, o: ReplaceDirOptions = {}): Promise<void> {
  const { fs, path } = await node();
  const dir = path.resolve(target); // also drops a trailing slash
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await recoverReplacedDir(dir);
  const existing = await entries(dir);
  if (existing !== null && existing.length > 0 && !(o.owns?.(existing) ?? false)) {
    const list = existing.slice(0, 5).join(', ') + (existing.length > 5 ? ', ...' : '');
    throw new DirReplaceError(`refusing to replace ${dir}: it holds files that are not a ${o.what ?? 'folder'} written by segllm (${list}); choose a new or empty folder`);
  }
  const id = `${process.pid}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(16)}`;
  const at = (kind: string) => path.join(path.dirname(dir), `.${path.basename(dir)}.${kind}-${id}`);
  const tmp = at('tmp');
  await fs.mkdir(tmp);
  try {
    await write(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await fs.rename(tmp, at('new')); // complete from here on
  if (existing !== null) await fs.rename(dir, at('old'));
  await fs.rename(at('new'), dir);
  if (existing !== null) await fs.rm(at('old'), { recursive: true, force: true });
}
