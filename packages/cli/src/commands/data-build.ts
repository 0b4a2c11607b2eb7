/**
 * `segllm data build`: MRSeg conversations from an annotation file, streamed to a JSON array. The pipeline is
 * @segllm/mrseg's `buildConversations`; this maps the flags onto its options.
 */
import { DATA_SOURCES, DataBuildError, buildConversations, type DataSource } from '@segllm/mrseg';
import { CliUsageError, intOption, parseOptions, parseShard, required } from '../lib/args.ts';
import { guard } from '../lib/errors.ts';
import type { Command } from './index.ts';

const USAGE = `usage: segllm data build --source <${DATA_SOURCES.join('|')}> --annotations <file|dir> --out <file>
         [--instances <instances.json>] [--classes <names.json>] [--seed s] [--shard i/n] [--split train|val]
         [--exclude-coco <coco_to_synset.json>] [--dataset name] [--image-prefix prefix] [--ref-split train|val|test|testA|testB] [--max-rounds n]
  refcoco/refcoco+/refcocog: --annotations refs(<split>).p or its JSON form, --instances the COCO instances.json
  coco-hard: --annotations a COCO instances file (hard "the other <class>" conversations)
  lvis: LVIS v0.5/v1 JSON (--exclude-coco coco_to_synset.json leaves out the COCO classes); paco, pascal-part: COCO-format with "<object>:<part>" part categories; vg: scene graphs
  coco-attributes: a JSON list of {"image" (or "file_name"), "id", "description"}
  ade20k, cocostuff: --annotations a folder of class PNGs, --classes a JSON list of class names (index = class id)
  Deterministic for --seed; --shard i/n keeps the images whose index in the input order is i mod n. Large JSON inputs are streamed item by item.
`;

const str = { type: 'string' } as const;
const OPTIONS = {
  source: str, annotations: str, out: str, instances: str, classes: str, 'exclude-coco': str, seed: str, shard: str, split: str,
  dataset: str, 'image-prefix': str, 'ref-split': str, 'max-rounds': str,
};

export async function runDataBuild(argv: string[], log: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const v = parseOptions(argv, OPTIONS);
  const source = required(v.source, 'source');
  if (!(DATA_SOURCES as readonly string[]).includes(source)) throw new CliUsageError(`--source must be one of ${DATA_SOURCES.join(', ')}, got "${source}"`);
  const split = v.split ?? 'train';
  if (split !== 'train' && split !== 'val') throw new CliUsageError(`--split must be train or val, got "${split}"`);
  const out = required(v.out, 'out');
  const t0 = performance.now();
  try {
    const s = await buildConversations({
      source: source as DataSource, annotations: required(v.annotations, 'annotations'), out, instances: v.instances, classes: v.classes,
      excludeCoco: v['exclude-coco'], seed: intOption(v.seed, 'seed', 0), shard: parseShard(v.shard), split, dataset: v.dataset,
      imagePrefix: v['image-prefix'], refSplit: v['ref-split'], maxRounds: intOption(v['max-rounds'], 'max-rounds', 18), log,
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(2);
    log(`data build: wrote ${s.conversations} conversations (${s.rounds} rounds) from ${s.images} of ${s.seen} images to ${out} in ${secs} s\n`);
    return 0;
  } catch (e) {
    throw e instanceof DataBuildError ? new CliUsageError(e.message) : e;
  }
}

export const dataBuildCommand: Command = {
  path: ['data', 'build'],
  summary: 'generate MRSeg conversations (RefCOCO, LVIS, PACO, VG, hard, attributes, ADE20K, COCO-Stuff)',
  run: (argv) => guard('data build', USAGE, (s) => process.stderr.write(s), () => runDataBuild(argv)),
};
