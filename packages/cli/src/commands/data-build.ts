/**
 * `segllm data build`: MRSeg conversations from an annotation file, streamed to a JSON array (temp file, then
 * rename). Deterministic for --seed; --shard i/n keeps images whose index in the input order is i mod n, so the
 * shards of one run are disjoint and together equal the unsharded output.
 */
import { readFileSync } from 'node:fs';
import {
  JsonArrayWriter,
  cocoHardInputs,
  generateHard,
  generateHierarchical,
  generateInteractional,
  generatePositional,
  lvisPositionalInputs,
  pacoHierarchicalInputs,
  readCocoInstances,
  readLvis,
  readPaco,
  readReferJson,
  readReferPickle,
  readVgSceneGraphs,
  refcocoPositionalInputs,
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

export const SOURCES = ['refcoco', 'refcoco+', 'refcocog', 'coco-hard', 'lvis', 'paco', 'pascal-part', 'vg'] as const;
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
};

const USAGE = `usage: segllm data build --source <${SOURCES.join('|')}> --annotations <file> --out <file>
         [--instances <instances.json>] [--seed s] [--shard i/n] [--split train|val] [--dataset name]
         [--image-prefix prefix] [--ref-split train|val|test|testA|testB] [--max-rounds n]
  refcoco/refcoco+/refcocog: --annotations refs(<split>).p or its JSON form, --instances the COCO instances.json
  coco-hard: --annotations a COCO instances file (hard "the other <class>" conversations)
  lvis: LVIS v0.5/v1 JSON; paco, pascal-part: COCO-format with "<object>:<part>" part categories; vg: scene graphs
`;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new CliUsageError(`cannot read JSON from ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

interface Job {
  key: string;
  run(): ConversationJson[];
}

function jobs(source: Source, flags: Map<string, string>, seed: number, split: Split): Job[] {
  const annotations = flags.get('annotations')!;
  const dataset = flags.get('dataset') ?? DEFAULT_DATASET[source];
  const prefix = flags.get('image-prefix');
  const maxRounds = intFlag(flags, 'max-rounds', 18);
  const g = { seed, split };
  switch (source) {
    case 'refcoco':
    case 'refcoco+':
    case 'refcocog': {
      const instances = flags.get('instances');
      if (!instances) throw new CliUsageError(`--source ${source} needs --instances <instances.json> for the boxes`);
      const refs = annotations.endsWith('.p') ? readReferPickle(readFileSync(annotations)) : readReferJson(readFileSync(annotations, 'utf8'));
      const coco = readCocoInstances(readJson(instances));
      const inputs = refcocoPositionalInputs(refs, coco, { dataset, imagePrefix: prefix ?? 'coco/train2014/', split: flags.get('ref-split') });
      return inputs.map((i) => ({ key: i.key!, run: () => generatePositional(i, { ...g, maxRounds }) }));
    }
    case 'coco-hard':
      return cocoHardInputs(readCocoInstances(readJson(annotations)), { dataset, imagePrefix: prefix ?? 'coco/train2014/' }).map((i) => ({
        key: i.key!,
        run: () => generateHard(i, g),
      }));
    case 'lvis':
      return lvisPositionalInputs(readLvis(readJson(annotations)), { dataset, imagePrefix: prefix ?? 'coco/' }).map((i) => ({
        key: i.key!,
        run: () => generatePositional(i, { ...g, maxRounds }),
      }));
    case 'paco':
    case 'pascal-part':
      return pacoHierarchicalInputs(readPaco(readJson(annotations)), { dataset, imagePrefix: prefix ?? '' }).map((i) => ({
        key: i.key!,
        run: () => generateHierarchical(i, g),
      }));
    case 'vg':
      return vgInteractionalInputs(readVgSceneGraphs(readJson(annotations)), {
        dataset,
        imagePath: (id) => `${prefix ?? 'vg/'}${id}.jpg`,
      }).map((i) => ({ key: i.key!, run: () => generateInteractional(i, g) }));
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
  const flags = parseFlags(argv, ['source', 'annotations', 'out', 'instances', 'seed', 'shard', 'split', 'dataset', 'image-prefix', 'ref-split', 'max-rounds']);
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
  const all = jobs(source, flags, seed, split);
  const mine = all.filter((_, i) => i % shards === shard);
  const writer = new JsonArrayWriter(out);
  let rounds = 0;
  try {
    for (let i = 0; i < mine.length; i++) {
      for (const c of mine[i].run()) {
        rounds += c.conversations.length / 2;
        await writer.write(c);
      }
      if ((i + 1) % 1000 === 0 || i + 1 === mine.length) {
        log(`data build: ${i + 1}/${mine.length} images, ${writer.length} conversations\n`);
      }
    }
    await writer.close();
  } catch (e) {
    writer.abort();
    throw e;
  }
  const s = (performance.now() - t0) / 1000;
  log(`data build: wrote ${writer.length} conversations (${rounds} rounds) from ${mine.length} of ${all.length} images to ${out} in ${s.toFixed(2)} s\n`);
  return 0;
}

export const dataBuildCommand: Command = {
  path: ['data', 'build'],
  summary: 'generate MRSeg conversations from RefCOCO/LVIS/PACO/VG annotations',
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
