/**
 * Issue 12: killing a training process at any moment never leaves a broken latest checkpoint. A child process trains
 * the tiny model with a checkpoint every step and is killed with SIGKILL at seeded random instants (during steps,
 * saves, renames, pruning); after each kill latest.json is absent or names a checkpoint that loadSegLLM loads and whose
 * training state reads; the next run resumes from it and its saves clear the temporary folders the kills left.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Generator } from '@segllm/tensor';
import { loadSegLLM } from '@segllm/core';
import { Trainer, latestCheckpoint, readTrainCheckpoint } from '@segllm/core/train';
import { SyntheticSource, configJson, newModel, tokJson, trainOptions } from './train-helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');

interface Child {
  kill(): void;
  /** Resolves with the exit signal, or "exit <code>" (and stderr's tail on failure). */
  done: Promise<string>;
  lines: string[];
  /** Resolves when the child prints a line starting with `prefix` (at once if it did). */
  line(prefix: string): Promise<void>;
}

/** Starts the training child. */
function startChild(out: string, steps: number): Child {
  // node with tsx's loader, not the tsx wrapper: SIGKILL must reach the process that trains, not a parent of it.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@segllm/source', join(here, 'train-kill-child.ts'), out, String(steps)], { cwd: root });
  const lines: string[] = [];
  const waiting: { prefix: string; resolve: () => void }[] = [];
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n').filter(Boolean)) {
      lines.push(l);
      for (const w of waiting) if (l.startsWith(w.prefix)) w.resolve();
    }
  });
  const done = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}${code ? `: ${err.slice(-2000)}` : ''}`)));
  const line = (prefix: string) => new Promise<void>((resolve, reject) => {
    if (lines.some((l) => l.startsWith(prefix))) return resolve();
    waiting.push({ prefix, resolve });
    void done.then((how) => reject(new Error(`the training child ended (${how}) before printing "${prefix}"; it printed ${JSON.stringify(lines)}`)));
  });
  return { kill: () => child.kill('SIGKILL'), done, lines, line };
}

/** latest.json is absent, or names a checkpoint that loads as a model and as a training state of `step`. */
async function checkLatest(out: string): Promise<number> {
  const dir = await latestCheckpoint(out);
  if (dir === null) return 0;
  const { model } = await loadSegLLM(dir, { dtype: 'float32' });
  model.model.dispose();
  const { state, tensors } = await readTrainCheckpoint(dir);
  for (const t of tensors.values()) t.dispose();
  expect(dir.endsWith(`step-${String(state.step).padStart(7, '0')}`)).toBe(true);
  return state.step;
}

describe('training checkpoints under SIGKILL', () => {
  it('8 kills at random instants never break latest.json; the next save clears the kills\' temporary folders', async () => {
    const out = mkdtempSync(join(tmpdir(), 'segllm-kill-'));
    const rng = new Generator(12);
    const steps = 40;
    let step = 0;
    let sawTmp = 0;
    for (let k = 0; k < 8; k++) {
      const child = startChild(out, steps);
      await child.line('started');
      expect(child.lines[0]).toBe(`started ${step}`); // resumed from the checkpoint checked after the last kill
      // The kill lands at a random instant of the next step + save: after the first save, a random fraction of the
      // time the first step + save took (so it scales with the machine's speed and load).
      const t0 = performance.now();
      await child.line('saved');
      await new Promise((r) => setTimeout(r, rng.random() * (performance.now() - t0)));
      child.kill();
      expect(await child.done).toBe('SIGKILL');
      const after = await checkLatest(out);
      expect(after).toBeGreaterThanOrEqual(step);
      step = after;
      if (readdirSync(out).some((n) => n.startsWith('.tmp-'))) sawTmp++;
    }
    // A last run to the end: its saves remove every temporary folder of the killed processes.
    const last = startChild(out, step + 2);
    expect(await last.done).toBe('exit 0');
    expect(last.lines.at(-1)).toBe(`saved ${step + 2}`);
    expect(await checkLatest(out)).toBe(step + 2);
    expect(readdirSync(out).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    console.log(`kill test: reached step ${step} over 8 kills; ${sawTmp} kills left a temporary folder behind`);
  }, 600_000); // about 9 process starts: ~30 s on a quiet 2-core machine, minutes under heavy load

  it('saving the step latest.json already names (right after a resume) keeps that folder instead of replacing it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'segllm-resave-'));
    const make = () => new Trainer(newModel(), new SyntheticSource(1), { configJson, tokenizerJson: tokJson }, { ...trainOptions(out, 4), saveEvery: 1 });
    const a = make();
    await a.run({}, 1);
    const dir = (await latestCheckpoint(out))!;
    const before = statSync(dir).ino;
    const b = make();
    expect(await b.resume()).toBe(1);
    expect(await b.save()).toBe(dir);
    expect(statSync(dir).ino).toBe(before); // not removed and rewritten: there was never an instant without it
    expect(await checkLatest(out)).toBe(1);
    for (const t of [a, b]) {
      t.dispose();
      t.model.model.dispose();
    }
  }, 120_000);
});
