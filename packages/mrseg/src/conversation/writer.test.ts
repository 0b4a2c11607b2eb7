import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonArrayWriter } from './writer.ts';

describe('JsonArrayWriter', () => {
  it('writes a JSON array through a temp file renamed on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writer-'));
    const w = new JsonArrayWriter(join(dir, 'out.json'));
    await w.write({ a: 1 });
    await w.write([2, 'x']);
    expect(readdirSync(dir)).not.toContain('out.json');
    await w.close();
    expect(readdirSync(dir)).toEqual(['out.json']);
    expect(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'))).toEqual([{ a: 1 }, [2, 'x']]);
    await expect(w.write(3)).rejects.toThrow(/already closed/);
  });

  it('abort right after construction (open still in flight) leaves no file and no uncaught stream error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writer-'));
    for (let i = 0; i < 50; i++) new JsonArrayWriter(join(dir, `a${i}.json`)).abort();
    const w = new JsonArrayWriter(join(dir, 'b.json'));
    await w.write({ b: 1 });
    w.abort();
    await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(dir)).toEqual([]);
  });
});
