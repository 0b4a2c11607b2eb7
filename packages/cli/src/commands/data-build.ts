/**
 * `segllm data build`: MRSeg conversations from an annotation file, streamed to a JSON array (temp file, then
 * rename). Deterministic for --seed; --shard i/n keeps images whose index in the input order is i mod n, so the
 * shards of one run are disjoint and together equal the unsharded output.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  JsonArrayWriter,
  cocoHardInputs,
  generateAttribute,
  generateHard,
  generateHierarchical,
  generateInteractional,
  generatePositional,
  generateSemantic,
  loadCocoForGeneration,
  lvisPositionalInputs,
  pacoHierarchicalInputs,
  readAde20kPng,
  readCocoStuffPng,
  readReferJson,
  readReferPickle,
  refcocoPositionalInputs,
  streamJsonItems,
  streamVgSceneGraphs,
  vgInteractionalInputs,
  type ConversationJson,
  type Split,
} from '@segllm/mrseg';
import type { Command } from './index.ts';

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Parses `--name value` flags (and bare `--flag` booleans listed in `booleans`); rejects unknown flags. */
export function parseFlags(argv: string[], known: readonly string[], booleans: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new CliUsageError(`unexpected argument "${a}"; options take the form --name value`);
    const [name, inline] = a.slice(2).split('=', 2);
    if (!known.includes(name) && !booleans.includes(name)) {
      throw new CliUsageError(`unknown option --${name}; known: ${[...known, ...booleans].map((k) => `--${k}`).join(', ')}`);
    }
    if (booleans.includes(name)) out.set(name, 'true');
    else if (inline !== undefined) out.set(name, inline);
    else {
      const v = argv[++i];
      if (v === undefined) throw new CliUsageError(`--${name} needs a value`);
      out.set(name, v);
    }
  }
  return out;
}

export function intFlag(flags: Map<string, string>, name: string, dflt: number): number {
  const v = flags.get(name);
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v)) throw new CliUsageError(`--${name} must be an integer, got "${v}"`);
  return Number(v);
}

export const SOURCES = [
  'refcoco',
  'refcoco+',
  'refcocog',
  'coco-hard',
  'lvis',
  'paco',
  'pascal-part',
  'vg',
  'coco-attributes',
  'ade20k',
  'cocostuff',
] as const;
type Source = (typeof SOURCES)[number];

const DEFAULT_DATASET: Record<Source, string> = {
  refcoco: 'refcoco',
  'refcoco+': 'refcoco+',
  refcocog: 'refcocog',
  'coco-hard': 'refcoco',
  lvis: 'lvis',
  paco: 'paco_lvis',
  'pascal-part': 'pascal',
  vg: 'visual_genome',
  'coco-attributes': 'description_based_coco',
  ade20k: 'ade20k',
  cocostuff: 'cocostuff',
};

const USAGE = `usage: segllm data build --source <${SOURCES.join('|')}> --annotations <file|dir> --out <file>
         [--instances <instances.json>] [--classes <names.json>] [--seed s] [--shard i/n] [--split train|val]
         [--exclude-coco <coco_to_synset.json>] [--dataset name] [--image-prefix prefix] [--ref-split train|val|test|testA|testB] [--max-rounds n]
  refcoco/refcoco+/refcocog: --annotations refs(<split>).p or its JSON form, --instances the COCO instances.json
  coco-hard: --annotations a COCO instances file (hard "the other <class>" conversations)
  lvis: LVIS v0.5/v1 JSON (--exclude-coco coco_to_synset.json leaves out the COCO classes); paco, pascal-part: COCO-format with "<object>:<part>" part categories; vg: scene graphs
  coco-attributes: a JSON list of {"image" (or "file_name"), "id", "description"}
  ade20k, cocostuff: --annotations a folder of class PNGs, --classes a JSON list of class names (index = class id)
  Large JSON inputs are streamed item by item.
`;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new CliUsageError(`cannot read JSON from ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkFile(path: string, what: string): void {
  if (!existsSync(path)) throw new CliUsageError(`${what} ${path} does not exist`);
}

interface Job {
  key: string;
  run(): ConversationJson[];
}

/** The per-image jobs of a source, in input order (VG is streamed graph by graph). */
async function* jobs(source: Source, flags: Map<string, string>, seed: number, split: Split): AsyncGenerator<Job> {
  const annotations = flags.get('annotations')!;
  checkFile(annotations, '--annotations');
  const dataset = flags.get('dataset') ?? DEFAULT_DATASET[source];
  const prefix = flags.get('image-prefix');
  const maxRounds = intFlag(flags, 'max-rounds', 18);
  if (maxRounds < 2) throw new CliUsageError(`--max-rounds must be at least 2 (positional conversations have 2-18 rounds), got ${maxRounds}`);
  const g = { seed, split };
  switch (source) {
    case 'refcoco':
    case 'refcoco+':
    case 'refcocog': {
      const instances = flags.get('instances');
      if (!instances) throw new CliUsageError(`--source ${source} needs --instances <instances.json> for the boxes`);
      checkFile(instances, '--instances');
      const refs = annotations.endsWith('.p') ? readReferPickle(readFileSync(annotations)) : readReferJson(readFileSync(annotations, 'utf8'));
      const coco = await loadCocoForGeneration(instances);
      const inputs = refcocoPositionalInputs(refs, coco, { dataset, imagePrefix: prefix ?? 'coco/train2014/', split: flags.get('ref-split') });
      for (const i of inputs) yield { key: i.key!, run: () => generatePositional(i, { ...g, maxRounds }) };
      return;
    }
    case 'coco-hard':
      for (const i of cocoHardInputs(await loadCocoForGeneration(annotations), { dataset, imagePrefix: prefix ?? 'coco/train2014/' })) {
        yield { key: i.key!, run: () => generateHard(i, g) };
      }
      return;
    case 'lvis': {
      const coco = flags.get('exclude-coco');
      let excludeSynsets: Set<string> | undefined;
      if (coco !== undefined) {
        const map = readJson(coco);
        if (typeof map !== 'object' || map === null) throw new CliUsageError(`--exclude-coco ${coco} must map COCO names to {"synset": ...}`);
        excludeSynsets = new Set(Object.values(map as Record<string, { synset?: unknown }>).map((v) => String(v.synset)));
      }
      const lvis = await loadCocoForGeneration(annotations);
      for (const i of lvisPositionalInputs(lvis, { dataset, imagePrefix: prefix ?? 'coco/', excludeSynsets })) {
        yield { key: i.key!, run: () => generatePositional(i, { ...g, maxRounds }) };
      }
      return;
    }
    case 'paco':
    case 'pascal-part':
      for (const i of pacoHierarchicalInputs(await loadCocoForGeneration(annotations), { dataset, imagePrefix: prefix ?? '' })) {
        yield { key: i.key!, run: () => generateHierarchical(i, g) };
      }
      return;
    case 'vg':
      for await (const graph of streamVgSceneGraphs(annotations)) {
        const [i] = vgInteractionalInputs([graph], { dataset, imagePath: (id) => `${prefix ?? 'vg/'}${id}.jpg` });
        yield { key: i.key!, run: () => generateInteractional(i, g) };
      }
      return;
    case 'coco-attributes': {
      const byImage = new Map<string, { id: number | string; description: string }[]>();
      for await (const { value } of streamJsonItems(annotations)) {
        const v = value as { image?: unknown; file_name?: unknown; id?: unknown; ann_id?: unknown; description?: unknown };
        const image = v.image ?? v.file_name;
        const id = v.id ?? v.ann_id;
        if (typeof image !== 'string' || (typeof id !== 'number' && typeof id !== 'string') || typeof v.description !== 'string') {
          throw new CliUsageError(`${annotations}: each item needs "image" (or "file_name"), "id" and "description"`);
        }
        byImage.set(image, [...(byImage.get(image) ?? []), { id, description: v.description }]);
      }
      for (const [image, objects] of byImage) {
        const input = { image: `${prefix ?? 'coco/train2017/'}${image}`, dataset, key: image, objects };
        yield { key: image, run: () => generateAttribute(input, g) };
      }
      return;
    }
    case 'ade20k':
    case 'cocostuff': {
      const classesPath = flags.get('classes');
      if (!classesPath) throw new CliUsageError(`--source ${source} needs --classes <names.json> (a JSON list; index = class id)`);
      const names = readJson(classesPath);
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' || n === null)) {
        throw new CliUsageError(`--classes ${classesPath} must be a JSON list of class names (null for unused ids)`);
      }
      const read = source === 'ade20k' ? readAde20kPng : readCocoStuffPng;
      for (const file of readdirSync(annotations).filter((f) => f.endsWith('.png')).sort()) {
        const classes = [...read(readFileSync(join(annotations, file))).masks.keys()]
          .filter((id) => typeof names[id] === 'string')
          .map((id) => ({ id, name: names[id] as string }));
        const image = `${prefix ?? ''}${file.replace(/\.png$/, '.jpg')}`;
        yield { key: file, run: () => generateSemantic({ image, dataset, key: file, classes }, g) };
      }
      return;
    }
  }
}

export function parseShard(s: string | undefined): [number, number] {
  if (s === undefined) return [0, 1];
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw new CliUsageError(`--shard must be i/n with 0 <= i < n (e.g. 0/4), got "${s}"`);
  }
  return [Number(m[1]), Number(m[2])];
}

export async function runDataBuild(argv: string[], log: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const flags = parseFlags(argv, ['source', 'annotations', 'out', 'instances', 'classes', 'exclude-coco', 'seed', 'shard', 'split', 'dataset', 'image-prefix', 'ref-split', 'max-rounds']);
  const source = flags.get('source') as Source | undefined;
  if (!source || !SOURCES.includes(source)) throw new CliUsageError(`--source must be one of ${SOURCES.join(', ')}\n${USAGE}`);
  const out = flags.get('out');
  if (!flags.get('annotations') || !out) throw new CliUsageError(`--annotations and --out are required\n${USAGE}`);
  const splitFlag = flags.get('split') ?? 'train';
  if (splitFlag !== 'train' && splitFlag !== 'val') throw new CliUsageError(`--split must be train or val, got "${splitFlag}"`);
  const split: Split = splitFlag;
  const seed = intFlag(flags, 'seed', 0);
  const [shard, shards] = parseShard(flags.get('shard'));
  const t0 = performance.now();
  const writer = new JsonArrayWriter(out);
  let rounds = 0;
  let seen = 0;
  let mine = 0;
  try {
    for await (const job of jobs(source, flags, seed, split)) {
      if (seen++ % shards !== shard) continue;
      for (const c of job.run()) {
        rounds += c.conversations.length / 2;
        await writer.write(c);
      }
      if (++mine % 1000 === 0) log(`data build: ${mine} images, ${writer.length} conversations\n`);
    }
    await writer.close();
  } catch (e) {
    writer.abort();
    throw e;
  }
  const s = (performance.now() - t0) / 1000;
  log(`data build: wrote ${writer.length} conversations (${rounds} rounds) from ${mine} of ${seen} images to ${out} in ${s.toFixed(2)} s\n`);
  return 0;
}

export const dataBuildCommand: Command = {
  path: ['data', 'build'],
  summary: 'generate MRSeg conversations (RefCOCO, LVIS, PACO, VG, hard, attributes, ADE20K, COCO-Stuff)',
  async run(argv) {
    try {
      return await runDataBuild(argv);
    } catch (e) {
      if (e instanceof CliUsageError) {
        process.stderr.write(`segllm data build: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  },
};
