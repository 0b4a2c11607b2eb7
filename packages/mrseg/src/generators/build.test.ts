import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationJson } from '../conversation/types.ts';
import { parseConversation } from '../conversation/parse.ts';
import { DataBuildError, buildConversations, type DataBuildOptions } from './build.ts';

const FIX = fileURLToPath(new URL('../../test/fixtures/gen/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'mrseg-build-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
async function build(o: Omit<DataBuildOptions, 'out'>): Promise<ConversationJson[]> {
  const out = join(tmp, `${n++}.json`);
  await buildConversations({ ...o, out });
  return JSON.parse(readFileSync(out, 'utf8')) as ConversationJson[];
}

const refcocog = { source: 'refcocog', annotations: join(FIX, 'refcocog_refs_umd.json'), instances: join(FIX, 'refcocog_instances.json') } as const;

describe('buildConversations', () => {
  it('gives the release dataset name and image prefix; shards split the images disjointly', async () => {
    const full = await build({ ...refcocog, seed: 3 });
    expect(full).toHaveLength(13); // images with a single caption give no positional conversation (2-18 rounds)
    for (const c of full) {
      const p = parseConversation(c);
      expect(p.dataset).toBe('refcocog');
      expect(p.image).toMatch(/^coco\/train2014\//);
    }
    const parts = [await build({ ...refcocog, seed: 3, shard: [0, 3] }), await build({ ...refcocog, seed: 3, shard: [1, 3] }), await build({ ...refcocog, seed: 3, shard: [2, 3] })];
    expect(parts.map((p) => p.length)).toEqual([4, 4, 5]);
    const ids = (xs: ConversationJson[]) => xs.map((c) => c.conv_id).sort();
    expect(ids(parts.flat())).toEqual(ids(full));
  });

  it('rejects bad options with a DataBuildError naming the option, and writes nothing', async () => {
    const out = join(tmp, 'never.json');
    await expect(buildConversations({ source: 'refcocog', annotations: refcocog.annotations, out })).rejects.toThrow(/needs --instances/);
    await expect(buildConversations({ ...refcocog, out, shard: [3, 3] })).rejects.toThrow(DataBuildError);
    await expect(buildConversations({ source: 'lvis', annotations: join(tmp, 'missing.json'), out })).rejects.toThrow(/--annotations .* does not exist/);
    expect(existsSync(out)).toBe(false);
  });
});
