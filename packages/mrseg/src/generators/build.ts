/**
 * The MRSeg data pipeline: per source, the reader, the adapter to generator inputs and the generator, with the
 * dataset names and image prefixes of the release's layout; `buildConversations` streams the result to a JSON
 * array (temp file, then rename). Deterministic for a seed; `shard: [i, n]` keeps the images whose index in the
 * input order is i mod n, so the shards of one run are disjoint and together equal the unsharded output.
 * `segllm data build` is a thin front end over this.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JsonArrayWriter } from '../conversation/writer.ts';
import { streamJsonItems } from '../conversation/jsonstream.ts';
import type { ConversationJson } from '../conversation/types.ts';
import { readAde20kPng, readCocoStuffPng } from '../readers/classmap.ts';
import { readReferJson, readReferPickle } from '../readers/refer.ts';
import { cocoHardInputs, lvisPositionalInputs, pacoHierarchicalInputs, refcocoPositionalInputs, vgInteractionalInputs } from './adapters.ts';
import { loadCocoForGeneration, streamVgSceneGraphs } from './load.ts';
import { generatePositional } from './positional.ts';
import { generateHierarchical } from './hierarchical.ts';
import { generateInteractional } from './interactional.ts';
import { generateAttribute, generateHard, generateSemantic } from './single.ts';
import type { Split } from '../templates/banks.ts';

export const DATA_SOURCES = ['refcoco', 'refcoco+', 'refcocog', 'coco-hard', 'lvis', 'paco', 'pascal-part', 'vg', 'coco-attributes', 'ade20k', 'cocostuff'] as const;
export type DataSource = (typeof DATA_SOURCES)[number];

/** Bad options or inputs of a build: the message says which option to fix. */
export class DataBuildError extends Error {
  override readonly name = 'DataBuildError';
}

export interface DataBuildOptions {
  source: DataSource;
  /** The source's annotation file (a folder of class PNGs for ade20k / cocostuff). */
  annotations: string;
  /** The JSON array to write. */
  out: string;
  /** refcoco*: the COCO instances.json holding the boxes. */
  instances?: string;
  /** ade20k / cocostuff: a JSON list of class names (index = class id, null for unused ids). */
  classes?: string;
  /** lvis: coco_to_synset.json; the COCO classes are left out. */
  excludeCoco?: string;
  seed?: number;
  /** [i, n]: keep images i mod n. */
  shard?: [number, number];
  split?: Split;
  /** The `dataset` field of the conversations (default: the release's name for the source). */
  dataset?: string;
  /** Prefix of the image paths (default: the release's layout for the source). */
  imagePrefix?: string;
  /** refcoco*: keep the refs of this split (train, val, test, testA, testB). */
  refSplit?: string;
  /** Positional conversations: at most this many rounds (default 18). */
  maxRounds?: number;
  /** Progress lines (every 1000 images, and the summary). */
  log?: (line: string) => void;
}

export interface DataBuildSummary {
  conversations: number;
  rounds: number;
  /** Images of this shard, and of the input. */
  images: number;
  seen: number;
}

const DEFAULT_DATASET: Record<DataSource, string> = {
  refcoco: 'refcoco', 'refcoco+': 'refcoco+', refcocog: 'refcocog', 'coco-hard': 'refcoco', lvis: 'lvis', paco: 'paco_lvis',
  'pascal-part': 'pascal', vg: 'visual_genome', 'coco-attributes': 'description_based_coco', ade20k: 'ade20k', cocostuff: 'cocostuff',
};

/** Image path prefixes of the release's data layout. */
const DEFAULT_PREFIX: Record<DataSource, string> = {
  refcoco: 'coco/train2014/', 'refcoco+': 'coco/train2014/', refcocog: 'coco/train2014/', 'coco-hard': 'coco/train2014/', lvis: 'coco/',
  paco: '', 'pascal-part': '', vg: 'vg/', 'coco-attributes': 'coco/train2017/', ade20k: '', cocostuff: '',
};

function readJson(path: string, option: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new DataBuildError(`${option}: cannot read JSON from ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkFile(path: string, option: string): void {
  if (!existsSync(path)) throw new DataBuildError(`${option} ${path} does not exist`);
}

interface Job {
  key: string;
  run(): ConversationJson[];
}

interface JobContext {
  o: DataBuildOptions;
  dataset: string;
  prefix: string;
  g: { seed: number; split: Split };
}

type Jobs = (c: JobContext) => AsyncIterable<Job> | Iterable<Job>;

async function* refcocoJobs({ o, dataset, prefix, g }: JobContext): AsyncGenerator<Job> {
  if (!o.instances) throw new DataBuildError(`--source ${o.source} needs --instances <instances.json> for the boxes`);
  checkFile(o.instances, '--instances');
  const refs = o.annotations.endsWith('.p') ? readReferPickle(readFileSync(o.annotations)) : readReferJson(readFileSync(o.annotations, 'utf8'));
  const coco = await loadCocoForGeneration(o.instances);
  for (const i of refcocoPositionalInputs(refs, coco, { dataset, imagePrefix: prefix, split: o.refSplit })) {
    yield { key: i.key!, run: () => generatePositional(i, { ...g, maxRounds: o.maxRounds ?? 18 }) };
  }
}

async function* lvisJobs({ o, dataset, prefix, g }: JobContext): AsyncGenerator<Job> {
  let excludeSynsets: Set<string> | undefined;
  if (o.excludeCoco !== undefined) {
    const map = readJson(o.excludeCoco, '--exclude-coco');
    if (typeof map !== 'object' || map === null) throw new DataBuildError(`--exclude-coco ${o.excludeCoco} must map COCO names to {"synset": ...}`);
    excludeSynsets = new Set(Object.values(map as Record<string, { synset?: unknown }>).map((v) => String(v.synset)));
  }
  for (const i of lvisPositionalInputs(await loadCocoForGeneration(o.annotations), { dataset, imagePrefix: prefix, excludeSynsets })) {
    yield { key: i.key!, run: () => generatePositional(i, { ...g, maxRounds: o.maxRounds ?? 18 }) };
  }
}

async function* attributeJobs({ o, dataset, prefix, g }: JobContext): AsyncGenerator<Job> {
  const byImage = new Map<string, { id: number | string; description: string }[]>();
  for await (const { value } of streamJsonItems(o.annotations)) {
    const v = value as { image?: unknown; file_name?: unknown; id?: unknown; ann_id?: unknown; description?: unknown };
    const image = v.image ?? v.file_name;
    const id = v.id ?? v.ann_id;
    if (typeof image !== 'string' || (typeof id !== 'number' && typeof id !== 'string') || typeof v.description !== 'string') {
      throw new DataBuildError(`${o.annotations}: each item needs "image" (or "file_name"), "id" and "description"`);
    }
    byImage.set(image, [...(byImage.get(image) ?? []), { id, description: v.description }]);
  }
  for (const [image, objects] of byImage) {
    const input = { image: `${prefix}${image}`, dataset, key: image, objects };
    yield { key: image, run: () => generateAttribute(input, g) };
  }
}

function* semanticJobs({ o, dataset, prefix, g }: JobContext): Generator<Job> {
  if (!o.classes) throw new DataBuildError(`--source ${o.source} needs --classes <names.json> (a JSON list; index = class id)`);
  const names = readJson(o.classes, '--classes');
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' || n === null)) {
    throw new DataBuildError(`--classes ${o.classes} must be a JSON list of class names (null for unused ids)`);
  }
  const read = o.source === 'ade20k' ? readAde20kPng : readCocoStuffPng;
  for (const file of readdirSync(o.annotations).filter((f) => f.endsWith('.png')).sort()) {
    const classes = [...read(readFileSync(join(o.annotations, file))).masks.keys()]
      .filter((id) => typeof names[id] === 'string')
      .map((id) => ({ id, name: names[id] as string }));
    const image = `${prefix}${file.replace(/\.png$/, '.jpg')}`;
    yield { key: file, run: () => generateSemantic({ image, dataset, key: file, classes }, g) };
  }
}

/** Per source: the per-image jobs, in input order (VG is streamed graph by graph). */
const JOBS: Record<DataSource, Jobs> = {
  refcoco: refcocoJobs,
  'refcoco+': refcocoJobs,
  refcocog: refcocoJobs,
  async *'coco-hard'({ o, dataset, prefix, g }) {
    for (const i of cocoHardInputs(await loadCocoForGeneration(o.annotations), { dataset, imagePrefix: prefix })) yield { key: i.key!, run: () => generateHard(i, g) };
  },
  lvis: lvisJobs,
  async *paco({ o, dataset, prefix, g }) {
    for (const i of pacoHierarchicalInputs(await loadCocoForGeneration(o.annotations), { dataset, imagePrefix: prefix })) yield { key: i.key!, run: () => generateHierarchical(i, g) };
  },
  'pascal-part': (c) => JOBS.paco(c),
  async *vg({ o, dataset, prefix, g }) {
    for await (const graph of streamVgSceneGraphs(o.annotations)) {
      const [i] = vgInteractionalInputs([graph], { dataset, imagePath: (id) => `${prefix}${id}.jpg` });
      yield { key: i.key!, run: () => generateInteractional(i, g) };
    }
  },
  'coco-attributes': attributeJobs,
  ade20k: semanticJobs,
  cocostuff: semanticJobs,
};

/** Generates the conversations of `o.source` and writes them to `o.out`; nothing is left at `o.out` on failure. */
export async function buildConversations(o: DataBuildOptions): Promise<DataBuildSummary> {
  if (!(DATA_SOURCES as readonly string[]).includes(o.source)) throw new DataBuildError(`--source must be one of ${DATA_SOURCES.join(', ')}, got "${o.source}"`);
  checkFile(o.annotations, '--annotations');
  const [shard, shards] = o.shard ?? [0, 1];
  if (!(Number.isInteger(shard) && Number.isInteger(shards) && shard >= 0 && shard < shards)) throw new DataBuildError(`shard must be i/n with 0 <= i < n, got ${shard}/${shards}`);
  if (o.maxRounds !== undefined && !(Number.isInteger(o.maxRounds) && o.maxRounds >= 2)) {
    throw new DataBuildError(`--max-rounds must be an integer of at least 2 (positional conversations have 2-18 rounds), got ${o.maxRounds}`);
  }
  const ctx: JobContext = { o, dataset: o.dataset ?? DEFAULT_DATASET[o.source], prefix: o.imagePrefix ?? DEFAULT_PREFIX[o.source], g: { seed: o.seed ?? 0, split: o.split ?? 'train' } };
  const log = o.log ?? (() => {});
  const writer = new JsonArrayWriter(o.out);
  const sum: DataBuildSummary = { conversations: 0, rounds: 0, images: 0, seen: 0 };
  try {
    for await (const job of JOBS[o.source](ctx)) {
      if (sum.seen++ % shards !== shard) continue;
      for (const c of job.run()) {
        sum.rounds += c.conversations.length / 2;
        await writer.write(c);
      }
      if (++sum.images % 1000 === 0) log(`data build: ${sum.images} images, ${writer.length} conversations\n`);
    }
    await writer.close();
  } catch (e) {
    writer.abort();
    throw e;
  }
  sum.conversations = writer.length;
  return sum;
}
