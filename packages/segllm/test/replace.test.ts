/** replaceDirAtomically / saveSegLLM: never lose a checkpoint, never delete what we did not write (issue 17, point 2). */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@segllm/models';
import { manualSeed } from '@segllm/tensor';
import { CheckpointError, DirReplaceError, SegLLM, SegLLMForSegmentation, bundledTokenizerJson, defaultDecoder, loadSegLLM, recoverReplacedDir, replaceDirAtomically, saveSegLLM, tinySegLLMConfig, tinySegLLMConfigJson } from '@segllm/core';

const fresh = () => mkdtempSync(join(tmpdir(), 'segllm-replace-'));
/** A pid that no longer runs (a finished child's). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid;

/** The version of a complete kill-test checkpoint in `dir`, or null when it is absent or incomplete. */
function completeVersion(dir: string): number | null {
  if (!existsSync(join(dir, 'manifest.json'))) return null;
  const { version, shards } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { version: number; shards: number };
  for (let s = 0; s < shards; s++) {
    const b = readFileSync(join(dir, `shard-${s}.bin`));
    if (b.length !== 1 << 16 || b.some((x) => x !== (version & 255))) return null;
  }
  return version;
}

describe('saveSegLLM replaces checkpoints safely', async () => {
  const tokenizerJson = await bundledTokenizerJson();
  const configJson = tinySegLLMConfigJson({ imageSize: 128 });
  manualSeed(4);
  const cfg = tinySegLLMConfig();
  const model = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), Tokenizer.fromString(tokenizerJson));

  it('refuses a folder holding other files and leaves them alone', async () => {
    const dir = join(fresh(), 'mine');
    mkdirSync(dir);
    writeFileSync(join(dir, 'thesis.tex'), 'precious');
    await expect(saveSegLLM(model, dir, { configJson, tokenizerJson })).rejects.toThrow(CheckpointError);
    await expect(saveSegLLM(model, dir, { configJson, tokenizerJson })).rejects.toThrow(/refusing to replace .*mine: it holds files that are not a checkpoint written by segllm \(thesis\.tex\)/);
    expect(readdirSync(dir)).toEqual(['thesis.tex']);
    expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('precious');
    expect(readdirSync(join(dir, '..'))).toEqual(['mine']);
  });

  it('replaces an existing checkpoint given with a trailing slash, leaving no temporary folder', async () => {
    const root = fresh();
    const dir = join(root, 'ckpt');
    await saveSegLLM(model, dir, { configJson, tokenizerJson, shards: 3 });
    await saveSegLLM(model, `${dir}/`, { configJson, tokenizerJson, shards: 2 });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    expect(readdirSync(root)).toEqual(['ckpt']);
    expect((await loadSegLLM(`${dir}/`)).report.loaded).toBe(model.model.stateDict().size);
  });
});

describe('unreadable checkpoint files (issue 17, points 9 and 11)', async () => {
  const tokenizerJson = await bundledTokenizerJson();
  const configJson = tinySegLLMConfigJson({ imageSize: 128 });
  const cfg = tinySegLLMConfig();
  const model = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), Tokenizer.fromString(tokenizerJson));

  it('a config.json or index that is a folder is reported as such, typed', async () => {
    const dir = join(fresh(), 'c');
    await saveSegLLM(model, dir, { configJson, tokenizerJson });
    rmSync(join(dir, 'model.safetensors.index.json'));
    mkdirSync(join(dir, 'model.safetensors.index.json'));
    await expect(loadSegLLM(dir)).rejects.toMatchObject({ name: 'SafetensorsError', code: 'NOT_A_FILE' });
    rmSync(join(dir, 'config.json'));
    mkdirSync(join(dir, 'config.json'));
    await expect(loadSegLLM(dir)).rejects.toThrow(/config\.json cannot be read \(EISDIR\): it is a folder, not a file/);
    rmSync(join(dir, 'config.json'), { recursive: true });
    await expect(loadSegLLM(dir)).rejects.toThrow(/has no config\.json/);
    const { truncateSync } = await import('node:fs');
    writeFileSync(join(dir, 'config.json'), '{}');
    truncateSync(join(dir, 'config.json'), 65 << 20); // a sparse 65 MiB file: refused before it is read
    await expect(loadSegLLM(dir)).rejects.toThrow(/config\.json is 68157440 bytes, over the 67108864-byte limit/);
  });

  it('checks the weights against config.json before allocating the model (issue 17, point 10)', async () => {
    const dir = join(fresh(), 'c');
    await saveSegLLM(model, dir, { configJson, tokenizerJson });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...configJson, vocab_size: 4_000_000 }));
    const before = process.memoryUsage().rss;
    await expect(loadSegLLM(dir)).rejects.toThrow(/config\.json says vocab_size 4000000 and hidden_size \d+, but model\.embed_tokens\.weight is \[\d+, \d+\]/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20); // the 4M-row embedding was never allocated
    rmSync(join(dir, 'model-00001-of-00002.safetensors'));
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: {} }));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson));
    await expect(loadSegLLM(dir)).rejects.toThrow(/holds no model\.embed_tokens\.weight \(0 tensors\)/);
  });
});

describe('replaceDirAtomically', () => {
  const write = (v: number) => async (tmp: string) => {
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ version: v, shards: 0 }));
    return Promise.resolve();
  };
  const owns = (e: string[]) => e.includes('manifest.json');

  it('keeps the old folder when the writer fails, and refuses a path that is a file', async () => {
    const root = fresh();
    const dir = join(root, 'c');
    await replaceDirAtomically(dir, write(1), { owns });
    await expect(replaceDirAtomically(dir, () => Promise.reject(new Error('disk full')), { owns })).rejects.toThrow('disk full');
    expect(completeVersion(dir)).toBe(1);
    expect(readdirSync(root)).toEqual(['c']);
    writeFileSync(join(root, 'f'), 'x');
    await expect(replaceDirAtomically(join(root, 'f'), write(1))).rejects.toThrow(DirReplaceError);
  });

  it('recovers from a kill between its two renames: the new folder, else the old one, is moved back', async () => {
    const root = fresh();
    const pid = deadPid();
    mkdirSync(join(root, `.c.old-${pid}-1a`));
    writeFileSync(join(root, `.c.old-${pid}-1a`, 'manifest.json'), JSON.stringify({ version: 1, shards: 0 }));
    mkdirSync(join(root, `.c.new-${pid}-1a`));
    writeFileSync(join(root, `.c.new-${pid}-1a`, 'manifest.json'), JSON.stringify({ version: 2, shards: 0 }));
    mkdirSync(join(root, `.c.tmp-${pid}-2b`)); // a later save killed while writing
    mkdirSync(join(root, `c.tmp-${pid}-1700000000000`)); // the temporary folder of the old saveSegLLM
    mkdirSync(join(root, `.c.tmp-${process.pid}-3c`)); // a save in progress in a live process: not touched
    mkdirSync(join(root, `.other.tmp-${pid}-4d`)); // another target's: not touched
    expect(await recoverReplacedDir(join(root, 'c'))).toBe('new');
    expect(completeVersion(join(root, 'c'))).toBe(2);
    expect(readdirSync(root).sort()).toEqual([`.c.tmp-${process.pid}-3c`, `.other.tmp-${pid}-4d`, 'c']);
    const root2 = fresh();
    mkdirSync(join(root2, `.c.old-${pid}-1a`));
    writeFileSync(join(root2, `.c.old-${pid}-1a`, 'manifest.json'), JSON.stringify({ version: 1, shards: 0 }));
    expect(await recoverReplacedDir(join(root2, 'c'))).toBe('old');
    expect(readdirSync(root2)).toEqual(['c']);
    expect(await recoverReplacedDir(join(root2, 'c'))).toBe(null);
  });

  it('leaves a complete old or new folder after each of 20 kills of a process saving in a loop', async () => {
    const root = fresh();
    const dir = join(root, 'ckpt');
    await replaceDirAtomically(dir, async (tmp) => {
      for (let s = 0; s < 4; s++) writeFileSync(join(tmp, `shard-${s}.bin`), new Uint8Array(1 << 16));
      writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ version: 0, shards: 4 }));
      return Promise.resolve();
    });
    // Bundled to plain JS once, so that each of the 20 children starts in milliseconds (no TS loader).
    const child = join(root, 'save-loop.mjs');
    const { build } = await import('esbuild');
    await build({ entryPoints: [fileURLToPath(new URL('./fixtures/save-loop.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', conditions: ['@segllm/source'], outfile: child, logLevel: 'error' });
    let seed = 17;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const outcomes = { kills: 0, inPlace: 0, restoredNew: 0, restoredOld: 0, saves: 0 };
    let last = 0;
    for (let k = 0; k < 20; k++) {
      const p = spawn(process.execPath, [child, dir, String(last + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      await new Promise<void>((res) => p.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('start') && res())));
      await new Promise((r) => setTimeout(r, rnd() * 120));
      p.kill('SIGKILL');
      await new Promise((r) => p.on('exit', r));
      outcomes.kills++;
      outcomes.saves += out.split('saved').length - 1;
      const inPlace = completeVersion(dir);
      if (inPlace !== null) outcomes.inPlace++;
      else expect(existsSync(dir), `kill ${k}: an incomplete folder in place`).toBe(false);
      const restored = await recoverReplacedDir(dir);
      if (restored === 'new') outcomes.restoredNew++;
      if (restored === 'old') outcomes.restoredOld++;
      const v = completeVersion(dir);
      expect(v, `kill ${k}`).not.toBe(null);
      expect(v!).toBeGreaterThanOrEqual(last);
      last = v!;
      expect(readdirSync(root).sort(), `kill ${k}: stale temporary folders`).toEqual(['ckpt', 'save-loop.mjs']);
    }
    console.log(`kill test: ${JSON.stringify(outcomes)}, last version ${last}`);
    expect(outcomes.inPlace + outcomes.restoredNew + outcomes.restoredOld).toBe(20);
    expect(outcomes.saves).toBeGreaterThan(0);
  });
});
