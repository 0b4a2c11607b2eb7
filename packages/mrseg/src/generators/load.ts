/**
 * Streaming loaders for `segllm data build`: read COCO-layout files (COCO, LVIS, PACO) and Visual Genome scene
 * graphs item by item with `streamJsonItems`, validate each item with the readers, and keep only what the
 * generators need (segmentations are validated, then dropped), so train-size files fit in memory.
 */
import { streamJsonItems } from '../conversation/jsonstream.ts';
import { AnnotationFormatError } from '../readers/errors.ts';
import { readCocoAnnotation, readCocoCategory, readCocoImage } from '../readers/coco.ts';
import { cocoFileFromUrl } from '../readers/lvis.ts';
import { readVgSceneGraph, type VgSceneGraph } from '../readers/vg.ts';
import type { CocoAnnotation, CocoCategory, CocoDataset, CocoImage } from '../types.ts';

export interface SlimCocoDataset extends CocoDataset {
  part_categories: CocoCategory[];
}

const KEYS = new Set(['images', 'categories', 'part_categories', 'annotations']);

/**
 * Loads a COCO-layout file for generation. Images without `file_name` (LVIS v1) get "<split>/<file>" from
 * `coco_url`. Annotations keep id, image_id, category_id, bbox, area, iscrowd and `obj_ann_id`; segmentation is
 * validated and replaced by an empty polygon list.
 */
export async function loadCocoForGeneration(path: string, chunkSize?: number): Promise<SlimCocoDataset> {
  const images: CocoImage[] = [];
  const categories: CocoCategory[] = [];
  const partCategories: CocoCategory[] = [];
  const annotations: CocoAnnotation[] = [];
  const imageById = new Map<number, CocoImage>();
  const counts = { images: 0, categories: 0, part_categories: 0, annotations: 0 };
  for await (const { key, value } of streamJsonItems(path, { keys: KEYS, chunkSize })) {
    if (key === null || !(key in counts)) continue;
    const i = counts[key as keyof typeof counts]++;
    const where = `${path}: ${key}[${i}]`;
    if (key === 'images') {
      const im = readCocoImage(value, where, false);
      if (im.file_name === '' && typeof im.coco_url === 'string') im.file_name = cocoFileFromUrl(im.coco_url);
      images.push(im);
      imageById.set(im.id, im);
    } else if (key === 'categories') categories.push(readCocoCategory(value, where));
    else if (key === 'part_categories') partCategories.push(readCocoCategory(value, where));
    else {
      const a = readCocoAnnotation(value, where, imageById.get((value as { image_id?: number }).image_id ?? -1));
      const slim: CocoAnnotation = {
        id: a.id,
        image_id: a.image_id,
        category_id: a.category_id,
        segmentation: [],
        area: a.area,
        bbox: a.bbox,
        iscrowd: a.iscrowd,
      };
      if (typeof a.obj_ann_id === 'number') slim.obj_ann_id = a.obj_ann_id;
      annotations.push(slim);
    }
  }
  const catIds = new Set([...categories, ...partCategories].map((c) => c.id));
  const annIds = new Set<number>();
  annotations.forEach((a, i) => {
    const where = `${path}: annotations[${i}]`;
    if (!imageById.has(a.image_id)) throw new AnnotationFormatError(`${where}.image_id`, `unknown image ${a.image_id}`);
    if (catIds.size > 0 && !catIds.has(a.category_id)) {
      throw new AnnotationFormatError(`${where}.category_id`, `unknown category ${a.category_id}`);
    }
    if (annIds.has(a.id)) throw new AnnotationFormatError(`${where}.id`, `duplicate id ${a.id}`);
    annIds.add(a.id);
  });
  return { images, categories, part_categories: partCategories, annotations };
}

/** Visual Genome scene graphs (a top-level array), validated one graph at a time. */
export async function* streamVgSceneGraphs(path: string, chunkSize?: number): AsyncGenerator<VgSceneGraph> {
  let i = 0;
  for await (const { value } of streamJsonItems(path, { chunkSize })) yield readVgSceneGraph(value, `${path}: [${i++}]`);
}
