/**
 * The golden commands report every failing case and go on with the next (exit 1 at the end): run on copies of the
 * fixtures with some cases corrupted, every other case still runs and passes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { deserializeSafetensors, serializeSafetensors } from '@segllm/tensor';
import type { RawTensor } from '@segllm/tensor';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const fixture = (p: string): string => fileURLToPath(new URL(`fixtures/${p}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'segllm-golden-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of a safetensors fixture with some tensors replaced, written to the temp folder. */
function corrupted(src: string, name: string, edit: (t: Record<string, RawTensor>) => void): string {
  const bytes = readFileSync(src);
  const { tensors, metadata } = deserializeSafetensors(src.endsWith('.gz') ? gunzipSync(bytes) : bytes);
  edit(tensors);
  const out = join(dir, name);
  writeFileSync(out, serializeSafetensors(tensors, metadata));
  return out;
}

async function golden(args: string[]): Promise<{ code: number; lines: Record<string, unknown>[] }> {
  const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
  const r = await promisify(execFile)(tsx, ['--conditions=@segllm/source', 'scripts/golden.ts', ...args], { cwd: pkg }).then(
    (o) => ({ code: 0, stdout: o.stdout }),
    (e: { code: number; stdout: string }) => e,
  );
  return { code: r.code, lines: r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Names of the failed (or passed) lines, sorted (serializeSafetensors may reorder the file). */
const named = (lines: Record<string, unknown>[], pass: boolean) => lines.filter((l) => l.pass === pass).map((l) => String(l.name)).sort();
const failures = (lines: Record<string, unknown>[]) => named(lines, false);

describe('golden commands go on after a failing case', () => {
  it('preprocess: a tensor of the wrong size and one with wrong values fail, the others pass', async () => {
    const file = corrupted(fixture('jpeg/preprocess_progressive-420.safetensors.gz'), 'preprocess.safetensors', (t) => {
      t['clip224.pixel_values'] = { dtype: 'float32', shape: [1, 3, 5, 2], data: new Float32Array(30) }; // not square: 12 values computed
      const llava = t['llava_pad336.pixel_values'];
      t['llava_pad336.pixel_values'] = { ...llava, data: (llava.data as Float32Array).map((v) => v + 0.5) };
    });
    const { code, lines } = await golden(['preprocess', file, fixture('jpeg/progressive-420.jpg')]);
    expect(code).toBe(1);
    expect(failures(lines)).toEqual(['clip224.pixel_values', 'llava_pad336.pixel_values']);
    expect(lines.find((l) => l.name === 'clip224.pixel_values')?.error).toMatch(/length mismatch/);
    expect(named(lines, true)).toEqual(['boxenc.input_yxyx_over_1024', 'hipie.input_size_hw', 'mask.resized_padded', 'maskenc.pixel_values']);
    expect(lines.at(-1)).toMatchObject({ summary: 'preprocess', compared: 6, failed: 2, ok: false });
  });

  it('llama: a splice that throws and wrong generation ids fail, the forward pass, loss and gradients pass', async () => {
    const file = corrupted(fixture('models/llama_tiny.io.safetensors'), 'llama.io.safetensors', (t) => {
      t['spliced.extra_embeds'] = { dtype: 'float32', shape: [1, 3, 5], data: new Float32Array(15) }; // hidden 64 expected
      const gen = t['generate.output'];
      t['generate.output'] = { ...gen, data: (gen.data as Int32Array).map((v) => v + 1) };
    });
    const { code, lines } = await golden(['llama', fixture('models/llama_tiny.weights.safetensors'), file]);
    expect(code).toBe(1);
    expect(failures(lines)).toEqual(['generate.output', 'spliced.logits']);
    expect(lines.find((l) => l.name === 'spliced.logits')?.error).toMatch(/Error/);
    const passed = lines.filter((l) => l.pass === true).map((l) => l.name);
    expect(passed.slice(0, 3)).toEqual(['logits', 'last_hidden_state', 'loss']);
    expect(passed.filter((n) => String(n).startsWith('grad.')).length).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({ summary: 'llama', failed: 2, ok: false });
  });
});
