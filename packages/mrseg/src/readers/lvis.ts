/**
 * LVIS v0.5 and v1 (COCO-format with long-tail categories and per-image negative / not-exhaustive labels).
 *
 * Differences handled:
 * - v0.5 images carry `file_name` in the legacy "COCO_val2014_<id>.jpg" form although the images are COCO 2017
 *   ones; v1 images have no `file_name`, only `coco_url`. Both get `coco_file` = "<split>2017/<id>.jpg" taken from
 *   `coco_url` (the path under a COCO root), and v1 `file_name` is set to it.
 * - v0.5 has 1230 categories, v1 1203 (ids and some names differ; PACO-LVIS uses v1 ids).
 * - Neither has `iscrowd`; it is set to 0.
 * The version is detected from the images (file_name present -> v0.5) unless given.
 */
import type { CocoCategory, CocoDataset, CocoImage } from '../types.ts';
import { readCocoInstances } from './coco.ts';
import { AnnotationFormatError } from './errors.ts';
import { arr, intList, isObj, obj, str } from './validate.ts';

export type LvisVersion = '0.5' | '1';

export interface LvisImage extends CocoImage {
  coco_url?: string;
  /** Path of the image under a COCO root, e.g. "val2017/000000266409.jpg" (from `coco_url`), or file_name. */
  coco_file: string;
  neg_category_ids: number[];
  not_exhaustive_category_ids: number[];
}

export interface LvisCategory extends CocoCategory {
  synset?: string;
  synonyms: string[];
  def?: string;
  /** 'r' rare, 'c' common, 'f' frequent. */
  frequency?: 'r' | 'c' | 'f';
}

export interface LvisDataset extends CocoDataset {
  version: LvisVersion;
  images: LvisImage[];
  categories: LvisCategory[];
}

export interface LvisReadOptions {
  version?: LvisVersion;
  /** Check that negative / not-exhaustive category ids exist (default true). */
  checkCategoryLists?: boolean;
}

/** "http://images.cocodataset.org/val2017/000000266409.jpg" -> "val2017/000000266409.jpg". */
export function cocoFileFromUrl(url: string): string {
  const parts = url.split('/');
  return parts.length >= 2 ? `${parts[parts.length - 2]}/${parts[parts.length - 1]}` : url;
}

export function detectLvisVersion(data: unknown): LvisVersion {
  const root = obj(data, '');
  const images = arr(root.images, 'images');
  const first = images.find(isObj);
  return first && typeof first.file_name === 'string' ? '0.5' : '1';
}

export function readLvis(data: unknown, opts: LvisReadOptions = {}): LvisDataset {
  const version = opts.version ?? detectLvisVersion(data);
  const ds = readCocoInstances(data, { requireFileName: version === '0.5' });
  const categories = ds.categories.map((c, i): LvisCategory => {
    const path = `categories[${i}]`;
    const f = c.frequency;
    if (f !== undefined && f !== 'r' && f !== 'c' && f !== 'f') {
      throw new AnnotationFormatError(`${path}.frequency`, `expected "r", "c" or "f", got ${JSON.stringify(f)}`);
    }
    return { ...c, synonyms: c.synonyms === undefined ? [c.name] : (arr(c.synonyms, `${path}.synonyms`).map((s, j) => str(s, `${path}.synonyms[${j}]`))) };
  });
  const catIds = new Set(categories.map((c) => c.id));
  const check = opts.checkCategoryLists ?? true;
  const images = ds.images.map((im, i): LvisImage => {
    const path = `images[${i}]`;
    const url = im.coco_url === undefined ? undefined : str(im.coco_url, `${path}.coco_url`);
    if (version === '1' && url === undefined && !im.file_name) {
      throw new AnnotationFormatError(path, 'LVIS v1 image has neither coco_url nor file_name');
    }
    const neg = intList(im.neg_category_ids, `${path}.neg_category_ids`);
    const notEx = intList(im.not_exhaustive_category_ids, `${path}.not_exhaustive_category_ids`);
    if (check) {
      for (const [k, list] of [['neg_category_ids', neg], ['not_exhaustive_category_ids', notEx]] as const) {
        const bad = list.find((id) => !catIds.has(id));
        if (bad !== undefined) throw new AnnotationFormatError(`${path}.${k}`, `unknown category ${bad}`);
      }
    }
    const cocoFile = url ? cocoFileFromUrl(url) : im.file_name;
    return {
      ...im,
      file_name: im.file_name || cocoFile,
      coco_file: cocoFile,
      neg_category_ids: neg,
      not_exhaustive_category_ids: notEx,
    };
  });
  return { ...ds, version, images, categories };
}
