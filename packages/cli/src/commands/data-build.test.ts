import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng, parseConversation, type ConversationJson } from '@segllm/mrseg';
import { runDataBuild } from './data-build.ts';
import { CliUsageError, parseShard } from '../lib/args.ts';
import { runDataShapes } from './data-shapes.ts';

const FIX = fileURLToPath(new URL('../../../mrseg/test/fixtures/gen/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'segllm-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function build(args: string[]): Promise<{ convs: ConversationJson[]; log: string }> {
  const out = join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  let log = '';
  expect(await runDataBuild([...args, '--out', out], (s) => (log += s))).toBe(0);
  expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  return { convs: JSON.parse(readFileSync(out, 'utf8')) as ConversationJson[], log };
}

const refcocog = ['--source', 'refcocog', '--annotations', join(FIX, 'refcocog_refs_umd.json'), '--instances', join(FIX, 'refcocog_instances.json')];

describe('segllm data build', () => {
  it('builds RefCOCOg conversations; the pickle and JSON refs give identical output', async () => {
    const a = await build([...refcocog, '--seed', '7']);
    const b = await build([...refcocog.slice(0, 3), join(FIX, 'refcocog_refs_umd.p'), ...refcocog.slice(4), '--seed', '7']);
    expect(a.convs).toEqual(b.convs);
    // 2-18 rounds per conversation: 2 of the 15 images have a single referring expression, hence no conversation.
    expect(a.convs).toHaveLength(13);
    for (const c of a.convs) expect(parseConversation(c).image).toMatch(/^coco\/train2014\/COCO_train2014_\d{12}\.jpg$/);
    expect(a.log).toMatch(/wrote 13 conversations \(\d+ rounds\) from 15 of 15 images/);
    const c = await build([...refcocog, '--seed', '8']);
    expect(c.convs).not.toEqual(a.convs);
  });

  it('shards are disjoint and together equal the full output', async () => {
    const full = await build([...refcocog, '--seed', '1']);
    const s0 = await build([...refcocog, '--seed', '1', '--shard', '0/2']);
    const s1 = await build([...refcocog, '--seed', '1', '--shard', '1/2']);
    expect(s0.convs.length + s1.convs.length).toBe(full.convs.length);
    const byId = (xs: ConversationJson[]): ConversationJson[] => [...xs].sort((p, q) => p.conv_id.localeCompare(q.conv_id));
    expect(byId([...s0.convs, ...s1.convs])).toEqual(byId(full.convs));
  });

  it('builds LVIS, PACO, VG and hard conversations that parse', async () => {
    const cases: [string[], number, string][] = [
      [['--source', 'lvis', '--annotations', join(FIX, 'lvis_val_12.json')], 10, 'lvis'], // one image has a single object
      [['--source', 'paco', '--annotations', join(FIX, 'paco_tiny.json')], 2, 'paco_lvis'],
      [['--source', 'vg', '--annotations', join(FIX, 'vg3_scene_graphs.json')], 12, 'visual_genome'],
      [['--source', 'coco-hard', '--annotations', join(FIX, 'refcocog_instances.json'), '--split', 'val'], 32, 'refcoco'],
    ];
    for (const [args, n, dataset] of cases) {
      const { convs } = await build(args);
      expect(convs).toHaveLength(n);
      for (const c of convs) expect(parseConversation(c).dataset).toBe(dataset);
    }
  });

  it('LVIS --exclude-coco leaves out the COCO classes', async () => {
    const all = await build(['--source', 'lvis', '--annotations', join(FIX, 'lvis_val_12.json')]);
    const some = await build(['--source', 'lvis', '--annotations', join(FIX, 'lvis_val_12.json'), '--exclude-coco', join(FIX, 'coco_to_synset.json')]);
    const lvis = JSON.parse(readFileSync(join(FIX, 'lvis_val_12.json'), 'utf8')) as { categories: { id: number; synset: string }[]; annotations: { id: number; category_id: number }[] };
    const cocoSynsets = new Set(Object.values(JSON.parse(readFileSync(join(FIX, 'coco_to_synset.json'), 'utf8')) as Record<string, { synset: string }>).map((v) => v.synset));
    const synsetOfAnn = new Map(lvis.annotations.map((a) => [a.id, lvis.categories.find((c) => c.id === a.category_id)!.synset]));
    const targets = (convs: ConversationJson[]): unknown[] => convs.flatMap((c) => parseConversation(c).rounds.map((r) => r.target));
    expect(targets(all.convs).some((t) => cocoSynsets.has(synsetOfAnn.get(t as number)!))).toBe(true);
    expect(targets(some.convs).some((t) => cocoSynsets.has(synsetOfAnn.get(t as number)!))).toBe(false);
    expect(targets(some.convs).length).toBeGreaterThan(0);
  });

  it('builds attribute and semantic (ADE20K class PNG) conversations', async () => {
    const attr = join(tmp, 'attr.json');
    writeFileSync(attr, JSON.stringify([
      { image: 'a.jpg', id: 11, description: 'has a long neck with brown patches' },
      { file_name: 'a.jpg', id: 12, description: 'is striped black and white.' },
      { image: 'b.jpg', id: 13, description: 'is red' },
    ]));
    const a = await build(['--source', 'coco-attributes', '--annotations', attr]);
    expect(a.convs.map((c) => parseConversation(c).rounds[0].target)).toEqual([11, 12, 13]);
    expect(parseConversation(a.convs[0]).image).toBe('coco/train2017/a.jpg');
    const dir = join(tmp, 'ade');
    mkdirSync(dir);
    // ADE20K stores class id + 1; 0 is "unlabelled". Values 1 and 3 -> classes 0 (wall) and 2 (sky).
    writeFileSync(join(dir, 'ADE_1.png'), encodePng({ width: 3, height: 2, channels: 1, data: Uint8Array.of(0, 1, 1, 3, 3, 0) }));
    const classes = join(tmp, 'classes.json');
    writeFileSync(classes, JSON.stringify(['wall', 'building', 'sky']));
    const s = await build(['--source', 'ade20k', '--annotations', dir, '--classes', classes, '--image-prefix', 'ade20k/images/training/']);
    const rounds = s.convs.map((c) => parseConversation(c));
    expect(rounds.map((r) => r.rounds[0].target)).toEqual([0, 2]);
    expect(rounds[1].rounds[0].text).toContain('sky');
    expect(rounds[0].image).toBe('ade20k/images/training/ADE_1.jpg');
  });

  it('rejects bad usage with CliUsageError and leaves no output', async () => {
    const out = join(tmp, 'never.json');
    await expect(runDataBuild(['--source', 'nope', '--annotations', 'x', '--out', out])).rejects.toThrow(CliUsageError);
    await expect(runDataBuild([...refcocog.slice(0, 4), '--out', out])).rejects.toThrow(/needs --instances/);
    await expect(runDataBuild([...refcocog, '--out', out, '--bogus', '1'])).rejects.toThrow(/Unknown option '--bogus'/);
    await expect(runDataBuild([...refcocog, '--out', out, '--seed', 'x'])).rejects.toThrow(/integer/);
    await expect(runDataBuild([...refcocog, '--out', out, '--max-rounds', '1'])).rejects.toThrow(/at least 2/);
    await expect(runDataBuild(['--source', 'lvis', '--annotations', join(tmp, 'missing.json'), '--out', out])).rejects.toThrow(/does not exist/);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"images": [{"id": 1}]}');
    await expect(runDataBuild(['--source', 'lvis', '--annotations', bad, '--out', out])).rejects.toThrow(/width/);
    expect(existsSync(out)).toBe(false);
    expect(() => parseShard('2/2')).toThrow(CliUsageError);
    expect(parseShard('1/3')).toEqual([1, 3]);
  });
});

describe('segllm data shapes', () => {
  it('writes images, annotations and conversations for both splits', async () => {
    const out = join(tmp, 'shapes');
    let log = '';
    expect(await runDataShapes(['--n', '3', '--seed', '2', '--out', out, '--val-n', '2'], (s) => (log += s))).toBe(0);
    expect(readdirSync(join(out, 'images/train'))).toHaveLength(3);
    expect(readdirSync(join(out, 'images/val'))).toHaveLength(2);
    const coco = JSON.parse(readFileSync(join(out, 'annotations/shapes_train.json'), 'utf8'));
    expect(coco.images).toHaveLength(3);
    const pos = JSON.parse(readFileSync(join(out, 'conversations/train/positional.json'), 'utf8')) as ConversationJson[];
    expect(pos).toHaveLength(3);
    expect(log).toMatch(/train: 3 images, \d+ annotations/);
    await expect(runDataShapes(['--seed', '2', '--out', out])).rejects.toThrow(/--n and --out are required/);
  });
});
