import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonStreamError, streamJsonItems, type JsonItem } from './jsonstream.ts';

const FIX = fileURLToPath(new URL('../../test/fixtures/gen/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'jsonstream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(path: string, opts = {}): Promise<JsonItem[]> {
  const out: JsonItem[] = [];
  for await (const it of streamJsonItems(path, opts)) out.push(it);
  return out;
}

function write(text: string): string {
  const p = join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, text);
  return p;
}

describe('streamJsonItems', () => {
  it('yields the elements of a COCO-layout file exactly as JSON.parse sees them, for any chunk size', async () => {
    const path = join(FIX, 'lvis_val_12.json');
    const whole = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    for (const chunkSize of [7, 64, 1 << 20]) {
      const items = await collect(path, { chunkSize });
      for (const k of ['images', 'annotations', 'categories']) {
        expect(items.filter((i) => i.key === k).map((i) => i.value)).toEqual(whole[k]);
      }
      expect(items.find((i) => i.key === 'info')?.value).toEqual(whole.info);
    }
  });

  it('streams a top-level array and skips keys not asked for', async () => {
    const path = join(FIX, 'vg3_scene_graphs.json');
    const items = await collect(path, { chunkSize: 13 });
    expect(items.map((i) => i.value)).toEqual(JSON.parse(readFileSync(path, 'utf8')));
    expect(items.every((i) => i.key === null)).toBe(true);
    const only = await collect(join(FIX, 'lvis_val_12.json'), { keys: new Set(['images']) });
    expect(new Set(only.map((i) => i.key))).toEqual(new Set(['images']));
  });

  it('handles strings with brackets, escapes, unicode, nested values and empty arrays', async () => {
    const doc = { a: [{ s: 'x],}[{"\\', n: [1, [2, { t: 'é😀' }]] }, 'str', 3.5e2, null, true], e: [], k: 'v"', '\u00e9"q': [false] };
    const items = await collect(write(JSON.stringify(doc, null, 1)), { chunkSize: 3 });
    expect(items).toEqual([
      { key: 'a', value: doc.a[0] },
      { key: 'a', value: 'str' },
      { key: 'a', value: 350 },
      { key: 'a', value: null },
      { key: 'a', value: true },
      { key: 'k', value: 'v"' },
      { key: 'é"q', value: false },
    ]);
  });

  it('rejects malformed input with JsonStreamError', async () => {
    await expect(collect(write('"just a string"'))).rejects.toThrow(JsonStreamError);
    await expect(collect(write('[1, 2'))).rejects.toThrow(/unexpected end of file/);
    await expect(collect(write('{"a": [1, }]}'))).rejects.toThrow(/invalid JSON value/);
    await expect(collect(write('[1] x'))).rejects.toThrow(/trailing/);
  });
});
