/** Hostile headers and paths (issue 17, point 9): typed errors, never a RangeError or a raw EISDIR. */
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError } from './errors.ts';
import { deserializeSafetensors, openSafetensors } from './safetensors.ts';
import { handMade } from './testing.ts';
import { preview } from '../preview.ts';

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

describe('hostile safetensors headers', () => {
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    it(`a ${field} nested 100000 deep gives a SafetensorsError naming it briefly`, () => {
      const entry = { dtype: '"F32"', shape: '[1]', data_offsets: '[0,4]', [field]: deep(100_000) };
      const header = `{"t":{"dtype":${entry.dtype},"shape":${entry.shape},"data_offsets":${entry.data_offsets}}}`;
      const e = (() => {
        try {
          deserializeSafetensors(handMade(header, 4));
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(SafetensorsError);
      expect((e as Error).message).toContain('[[…]]');
      expect((e as Error).message.length).toBeLessThan(400);
    });
  }

  it('a path that is a folder gives NOT_A_FILE', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'st-dir-')), 'model.safetensors');
    await mkdir(dir);
    await expect(openSafetensors(dir)).rejects.toMatchObject({ name: 'SafetensorsError', code: 'NOT_A_FILE' });
  });

  it('preview renders one level, cuts long strings, and never recurses', () => {
    expect(preview('x'.repeat(100), 5)).toBe('"xxxxx…"');
    expect(preview([1, 'a', [2], { b: 1 }, null, true, 7, 8])).toBe('[1,"a",[…],{…},null,true,… (8 items)]');
    expect(preview({ a: 1, b: [1] })).toBe('{"a":1,"b":[…]}');
    expect(preview([4, 0])).toBe('[4,0]');
    expect(preview(undefined)).toBe('undefined');
    expect(preview(JSON.parse(deep(200_000)))).toBe('[[…]]');
    expect(preview(12n)).toBe('12');
  });
});
