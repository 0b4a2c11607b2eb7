/**
 * MRSeg-Shapes datasets: images, COCO-style annotations and MRSeg conversations from the same generators as
 * the real sources. Layout written by `writeShapesDataset`:
 *   <out>/images/{train,val}/<000001>.png
 *   <out>/annotations/shapes_{train,val}.json                (COCO: images, categories, annotations, relationships)
 *   <out>/conversations/{train,val}/<type>.json             (type: positional, hierarchical, interactional, hard,
 *                                                             attribute, semantic)
 * The validation split is fixed: it depends only on `valSeed` (default VAL_SEED) and `valCount`, never on the
 * training seed, and its questions use the validation template bank.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonArrayWriter } from '../conversation/writer.ts';
import type { ConversationJson } from '../conversation/types.ts';
import { generateHierarchical } from '../generators/hierarchical.ts';
import { generateInteractional } from '../generators/interactional.ts';
import { generatePositional } from '../generators/positional.ts';
import { rngFor } from '../generators/rng.ts';
import { generateAttribute, generateHard, generateSemantic } from '../generators/single.ts';
import type { Split } from '../templates/banks.ts';
import { SHAPES_CATEGORIES, annotateScene, type ImageAnnotations, type ShapesAnnotation, type ShapesRelationship } from './annotate.ts';
import { encodePngRgb } from './png.ts';
import { renderScene, type Rendered } from './render.ts';
import { makeScene, type Scene, type SceneOptions } from './scene.ts';

export const VAL_SEED = 20250101;
export const CONVERSATION_TYPES = ['positional', 'hierarchical', 'interactional', 'hard', 'attribute', 'semantic'] as const;
export type ConversationType = (typeof CONVERSATION_TYPES)[number];

/** Image and annotation ids of the validation split start here, so they never collide with training ids. */
export const VAL_ID_BASE = 10_000_000;

export interface ShapesImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  background: string;
  split: Split;
}

export interface ShapesSample {
  image: ShapesImage;
  scene: Scene;
  rendered: Rendered;
  annotations: ImageAnnotations;
  conversations: Record<ConversationType, ConversationJson[]>;
}

export class ShapesOptionsError extends Error {
  override readonly name = 'ShapesOptionsError';
}

/** Generates image `index` (0-based) of a split; a pure function of (seed, split, index, options). */
export function generateShapesSample(
  index: number,
  split: Split,
  seed: number,
  ids: { nextAnn: number; nextRel: number },
  opts: SceneOptions = {},
): ShapesSample {
  const rng = rngFor(seed, `shapes|${split}|${index}`);
  const scene = makeScene(rng, opts);
  const rendered = renderScene(scene, rng);
  const imageId = (split === 'val' ? VAL_ID_BASE : 0) + index + 1;
  const fileName = `${split}/${String(index + 1).padStart(6, '0')}.png`;
  const annotations = annotateScene(scene, rendered, imageId, fileName, ids, rng);
  const g = { seed, split };
  const conversations: Record<ConversationType, ConversationJson[]> = {
    positional: generatePositional(annotations.positional, g),
    hierarchical: generateHierarchical(annotations.hierarchical, g),
    interactional: generateInteractional(annotations.interactional, g),
    hard: generateHard(annotations.hard, g),
    attribute: generateAttribute(annotations.attribute, g),
    semantic: generateSemantic(annotations.semantic, g),
  };
  const image: ShapesImage = {
    id: imageId,
    file_name: fileName,
    width: scene.width,
    height: scene.height,
    background: scene.background.kind,
    split,
  };
  return { image, scene, rendered, annotations, conversations };
}

export interface ShapesDatasetOptions extends SceneOptions {
  out: string;
  /** Training images. */
  n: number;
  seed: number;
  /** Validation images (default 200), generated from `valSeed` (default VAL_SEED). */
  valCount?: number;
  valSeed?: number;
  onProgress?: (split: Split, done: number, total: number) => void;
}

export interface SplitSummary {
  images: number;
  annotations: number;
  relationships: number;
  conversations: Record<ConversationType, number>;
  rounds: number;
}

async function writeSplit(split: Split, count: number, seed: number, opts: ShapesDatasetOptions): Promise<SplitSummary> {
  const imgDir = join(opts.out, 'images', split);
  mkdirSync(imgDir, { recursive: true });
  const ids = { nextAnn: (split === 'val' ? VAL_ID_BASE : 0) + 1, nextRel: (split === 'val' ? VAL_ID_BASE : 0) + 1 };
  const writers = Object.fromEntries(
    CONVERSATION_TYPES.map((t) => [t, new JsonArrayWriter(join(opts.out, 'conversations', split, `${t}.json`))]),
  ) as Record<ConversationType, JsonArrayWriter>;
  const images: ShapesImage[] = [];
  const annotations: ShapesAnnotation[] = [];
  const relationships: ShapesRelationship[] = [];
  let rounds = 0;
  try {
    for (let i = 0; i < count; i++) {
      const s = generateShapesSample(i, split, seed, ids, opts);
      const png = join(opts.out, 'images', s.image.file_name);
      writeFileSync(`${png}.tmp`, encodePngRgb(s.rendered.rgb, s.rendered.width, s.rendered.height));
      renameSync(`${png}.tmp`, png);
      images.push(s.image);
      annotations.push(...s.annotations.annotations);
      relationships.push(...s.annotations.relationships);
      for (const t of CONVERSATION_TYPES) {
        for (const c of s.conversations[t]) {
          rounds += c.conversations.length / 2;
          await writers[t].write(c);
        }
      }
      opts.onProgress?.(split, i + 1, count);
    }
    for (const t of CONVERSATION_TYPES) await writers[t].close();
  } catch (e) {
    for (const t of CONVERSATION_TYPES) writers[t].abort();
    throw e;
  }
  const annPath = join(opts.out, 'annotations', `shapes_${split}.json`);
  mkdirSync(join(opts.out, 'annotations'), { recursive: true });
  const coco = {
    info: { description: `MRSeg-Shapes ${split} split`, seed, version: 1 },
    images,
    categories: SHAPES_CATEGORIES,
    annotations,
    relationships,
  };
  writeFileSync(`${annPath}.tmp`, JSON.stringify(coco));
  renameSync(`${annPath}.tmp`, annPath);
  const conversations = Object.fromEntries(CONVERSATION_TYPES.map((t) => [t, writers[t].length])) as Record<ConversationType, number>;
  return { images: count, annotations: annotations.length, relationships: relationships.length, conversations, rounds };
}

/** Writes the training split (`n`, `seed`) and the fixed validation split; returns per-split counts. */
export async function writeShapesDataset(opts: ShapesDatasetOptions): Promise<Record<Split, SplitSummary>> {
  const valCount = opts.valCount ?? 200;
  if (!Number.isInteger(opts.n) || opts.n < 0) throw new ShapesOptionsError(`--n must be a non-negative integer, got ${opts.n}`);
  if (!Number.isInteger(valCount) || valCount < 0) throw new ShapesOptionsError(`--val-n must be a non-negative integer, got ${valCount}`);
  if ((opts.minSize ?? 144) < 64 || (opts.maxSize ?? 224) < (opts.minSize ?? 144)) {
    throw new ShapesOptionsError('image sizes need 64 <= --min-size <= --max-size');
  }
  const train = await writeSplit('train', opts.n, opts.seed, opts);
  const val = await writeSplit('val', valCount, opts.valSeed ?? VAL_SEED, opts);
  return { train, val };
}
