import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConversation } from '../conversation/parse.ts';
import { fillTemplate, templates } from '../templates/banks.ts';
import type { CocoDataset } from '../types.ts';
import {
  AdapterInputError,
  cocoHardInputs,
  lvisPositionalInputs,
  refcocoPositionalInputs,
  vgInteractionalInputs,
  type RefcocoRef,
  type VgSceneGraph,
} from './adapters.ts';
import { readableName } from './common.ts';
import { generateHierarchical } from './hierarchical.ts';
import { generateInteractional, predicatePhrase } from './interactional.ts';
import { generatePositional } from './positional.ts';
import { RELATION_PHRASES, relation } from './relations.ts';
import { Rng } from './rng.ts';
import { generateAttribute, generateHard, generateSemantic } from './single.ts';
import type { Box, HierarchicalInput, PositionalInput } from './types.ts';

const FIX = new URL('../../test/fixtures/gen/', import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIX), 'utf8')) as T;
const refs = load<RefcocoRef[]>('refcocog_refs_umd.json');
const instances = load<CocoDataset>('refcocog_instances.json');
const lvis = load<CocoDataset>('lvis_val_12.json');
const vg = load<VgSceneGraph[]>('vg3_scene_graphs.json');

function randomPositional(seed: number, n: number): PositionalInput {
  const r = new Rng(seed);
  return {
    image: `img${seed}.png`,
    dataset: 'synthetic',
    objects: Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      box: [r.int(0, 200), r.int(0, 200), r.int(5, 60), r.int(5, 60)] as Box,
      category: 'thing',
      captions: [`thing number ${i + 1}`, `object ${i + 1}`],
    })),
  };
}

describe('positional generator', () => {
  const inputs = refcocoPositionalInputs(refs, instances, { dataset: 'refcocog', imagePrefix: 'coco/train2014/' });

  it('adapts the RefCOCOg fixture: one input per image, captions from the sentences', () => {
    expect(inputs).toHaveLength(new Set(refs.map((r) => r.image_id)).size);
    const first = inputs.find((i) => i.key === '122469')!;
    expect(first.image).toBe('coco/train2014/COCO_train2014_000000122469.jpg');
    const obj = first.objects.find((o) => o.id === 251837)!;
    expect(obj.captions).toContain('a woman wearing black dress');
    expect(obj.box).toEqual(instances.annotations.find((a) => a.id === 251837)!.bbox);
    expect(() => refcocoPositionalInputs([{ ...refs[0], ann_id: -5 }], instances, { dataset: 'x' })).toThrow(AdapterInputError);
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const a = inputs.flatMap((i) => generatePositional(i, { seed: 3 }));
    const b = inputs.flatMap((i) => generatePositional(i, { seed: 3 }));
    const c = inputs.flatMap((i) => generatePositional(i, { seed: 4 }));
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it('writes relations that match the boxes and references that match earlier rounds', () => {
    let relative = 0;
    let self = 0;
    const refStyles = { caption: 0, instance: 0, output: 0 };
    const relationsSeen = new Set<string>();
    for (let s = 0; s < 150; s++) {
      const input = randomPositional(s, 12);
      const [conv] = generatePositional(input, { seed: s });
      const parsed = parseConversation(conv);
      expect(parsed.rounds.length).toBeGreaterThanOrEqual(2);
      expect(parsed.rounds.length).toBeLessThanOrEqual(18);
      const boxOf = (id: unknown): Box => input.objects.find((o) => o.id === id)!.box;
      parsed.rounds.forEach((r, i) => {
        if (i === 0) expect(r.refs).toEqual([]);
        if (r.refs.length === 0) {
          if (i > 0) self++;
          return;
        }
        relative++;
        const { round, mask } = r.refs[0];
        expect(round).toBeLessThan(r.index);
        expect(parsed.rounds[round! - 1].target).toBe(mask);
        const rel = relation(boxOf(r.target), boxOf(mask), r.target === mask);
        relationsSeen.add(rel);
        expect(r.text).toContain(` ${RELATION_PHRASES[rel]} `);
        if (r.text.includes(`instance ${round}`)) refStyles.instance++;
        else if (r.text.includes(`the output of round ${round}`)) refStyles.output++;
        else refStyles.caption++;
      });
    }
    // Later rounds are caption-only with probability 1/3.
    expect(self / (self + relative)).toBeGreaterThan(0.28);
    expect(self / (self + relative)).toBeLessThan(0.39);
    // Earlier outputs are named by caption half the time, else instance / round output.
    expect(refStyles.caption / relative).toBeGreaterThan(0.44);
    expect(refStyles.caption / relative).toBeLessThan(0.56);
    expect(refStyles.instance).toBeGreaterThan(relative * 0.2);
    expect(refStyles.output).toBeGreaterThan(relative * 0.2);
    for (const rel of ['left', 'right', 'above', 'below', 'top-left', 'bottom-right', 'overlapping', 'same']) {
      expect(relationsSeen.has(rel)).toBe(true);
    }
  });

  it('uses the disjoint validation templates for split "val"', () => {
    const [conv] = generatePositional(randomPositional(1, 1), { split: 'val' });
    const text = parseConversation(conv).rounds[0].text;
    const filled = (split: 'train' | 'val'): string[] =>
      templates('describe', split).map((t) => fillTemplate(t, { target: 'thing number 1' }));
    const also = (split: 'train' | 'val'): string[] =>
      templates('describe', split).map((t) => fillTemplate(t, { target: 'object 1' }));
    expect([...filled('val'), ...also('val')]).toContain(text);
    expect([...filled('train'), ...also('train')]).not.toContain(text);
  });

  it('LVIS keeps classes with one or two instances and locates pairs', () => {
    const lv = lvisPositionalInputs(lvis, { dataset: 'lvis' });
    const cats = new Map(lvis.categories.map((c) => [c.id, c.name]));
    for (const input of lv) {
      const imageId = Number(input.key);
      const counts = new Map<string, number>();
      for (const a of lvis.annotations.filter((x) => x.image_id === imageId)) {
        const n = readableName(cats.get(a.category_id)!);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      for (const o of input.objects) {
        const n = counts.get(o.category)!;
        expect(n === 1 || n === 2).toBe(true);
        if (n === 2) expect(o.captions[0]).toMatch(/ (on the left|on the right|at the top|at the bottom)$/);
        else expect(o.captions[0]).toBe(`the ${o.category}`);
      }
    }
    expect(lv.some((i) => i.objects.some((o) => / on the (left|right)$| at the (top|bottom)$/.test(o.captions[0])))).toBe(true);
    const convs = lv.flatMap((i) => generatePositional(i, { seed: 1 }));
    // 2-18 rounds (paper): an image with a single captioned object has no positional conversation.
    expect(convs.length).toBe(lv.filter((i) => i.objects.reduce((n, o) => n + o.captions.length, 0) >= 2).length);
    expect(convs.length).toBeGreaterThan(0);
    for (const c of convs) expect(c.conversations.length / 2).toBeGreaterThanOrEqual(2);
    for (const c of convs) parseConversation(c);
    const excluded = lvisPositionalInputs(lvis, { dataset: 'lvis', exclude: new Set(lv[0].objects.map((o) => o.category)) });
    expect(excluded.flatMap((i) => i.objects).some((o) => lv[0].objects.some((p) => p.category === o.category))).toBe(false);
  });
});

describe('hierarchical generator', () => {
  const input: HierarchicalInput = {
    image: 'h.png',
    dataset: 'paco',
    objects: Array.from({ length: 6 }, (_, i) => ({
      id: 100 + i,
      box: [i * 30, 0, 20, 20] as Box,
      category: `thing_${i}`,
      parts: Array.from({ length: 6 }, (_, j) => ({ id: `${100 + i}_${j}`, box: [i * 30, 0, 5, 5] as Box, name: `part_${j}` })),
    })),
  };

  it('asks 1-4 objects, each followed by 1-4 of its parts that reference it', () => {
    const objectCounts = new Set<number>();
    for (let s = 0; s < 60; s++) {
      const p = parseConversation(generateHierarchical(input, { seed: s })[0]);
      let currentObject = -1;
      let objects = 0;
      let parts = 0;
      for (const r of p.rounds) {
        if (r.task === 'referring') {
          expect(r.refs).toEqual([]);
          currentObject = r.index;
          objects++;
          parts = 0;
          expect(r.text).toMatch(/the thing \d/);
        } else {
          expect(r.task).toBe('part');
          expect(r.refs).toEqual([{ round: currentObject, mask: p.rounds[currentObject - 1].target }]);
          expect(String(r.target).startsWith(`${String(p.rounds[currentObject - 1].target)}_`)).toBe(true);
          parts++;
          expect(parts).toBeLessThanOrEqual(4);
        }
      }
      expect(objects).toBeGreaterThanOrEqual(1);
      expect(objects).toBeLessThanOrEqual(4);
      objectCounts.add(objects);
    }
    expect([...objectCounts].sort()).toEqual([1, 2, 3, 4]);
  });

  it('skips objects without a usable caption or parts', () => {
    const noParts = { ...input, objects: input.objects.map((o) => ({ ...o, parts: [] })) };
    expect(generateHierarchical(noParts)).toEqual([]);
    const triple = { ...input, objects: input.objects.slice(0, 3).map((o) => ({ ...o, category: 'cup' })) };
    expect(generateHierarchical(triple)).toEqual([]);
  });
});

describe('interactional generator (Visual Genome fixture)', () => {
  const inputs = vgInteractionalInputs(vg, { dataset: 'vg', imagePrefix: 'vg/VG_100K/' });

  it('makes up to 4 two-round conversations per image: subject, then object through the relationship', () => {
    for (const input of inputs) {
      const convs = generateInteractional(input, { seed: 2 });
      expect(convs.length).toBe(Math.min(4, convs.length));
      expect(convs.length).toBeGreaterThan(0);
      for (const c of convs) {
        const p = parseConversation(c);
        expect(p.image).toBe(`vg/VG_100K/${input.key}.jpg`);
        expect(p.rounds).toHaveLength(2);
        const [r1, r2] = p.rounds;
        expect(r2.refs).toEqual([{ round: 1, mask: r1.target }]);
        const rels = input.relationships.filter((r) => r.subject === r1.target && r.object === r2.target);
        expect(rels.some((rel) => r2.text.includes(` ${predicatePhrase(rel.predicate)}`))).toBe(true);
      }
    }
  });

  it('phrases predicates', () => {
    expect(predicatePhrase('ON')).toBe('is on');
    expect(predicatePhrase('next to')).toBe('is next to');
    expect(predicatePhrase('holding')).toBe('is holding');
    expect(predicatePhrase('wears')).toBe('wears');
    expect(predicatePhrase('is sitting on')).toBe('is sitting on');
  });
});

describe('hard, attribute and semantic generators', () => {
  it('hard: both directions for every class with exactly two instances (RefCOCOg instances)', () => {
    const inputs = cocoHardInputs(instances, { dataset: 'refcocog' });
    let total = 0;
    for (const input of inputs) {
      const counts = new Map<string, number>();
      for (const o of input.objects) counts.set(o.category, (counts.get(o.category) ?? 0) + 1);
      const pairs = [...counts.values()].filter((n) => n === 2).length;
      const convs = generateHard(input, { seed: 1 });
      expect(convs).toHaveLength(2 * pairs);
      for (let i = 0; i < convs.length; i += 2) {
        const [a, b] = [parseConversation(convs[i]).rounds[0], parseConversation(convs[i + 1]).rounds[0]];
        expect(a.refs).toEqual([{ round: null, mask: b.target }]);
        expect(b.refs).toEqual([{ round: null, mask: a.target }]);
        const cat = input.objects.find((o) => o.id === a.target)!.category;
        expect(a.text).toContain(cat);
        expect(input.objects.find((o) => o.id === b.target)!.category).toBe(cat);
      }
      total += convs.length;
    }
    expect(total).toBeGreaterThan(0);
  });

  it('attribute and semantic: one single-round conversation per item', () => {
    const att = generateAttribute({
      image: 'a.jpg',
      dataset: 'coco_attr',
      objects: [
        { id: 1, description: 'has a tall, slender neck covered with patches.' },
        { id: 2, description: '  ' },
      ],
    });
    expect(att).toHaveLength(1);
    const r = parseConversation(att[0]).rounds[0];
    expect(r.target).toBe(1);
    expect(r.text).toContain('has a tall, slender neck covered with patches');
    expect(r.text).not.toContain('patches.');
    const sem = generateSemantic({ image: 's.png', dataset: 'ade20k', classes: [{ id: 3, name: 'sky' }, { id: 12, name: 'tree_trunk' }] });
    expect(sem.map((c) => parseConversation(c).rounds[0].target)).toEqual([3, 12]);
    expect(parseConversation(sem[1]).rounds[0].text).toContain('tree trunk');
  });
});
