/** COCO instances reader: validation, normalisation and an index with per-annotation masks. */
import { segmentationToRle } from '../masks/convert.ts';
import { MaskFormatError } from '../masks/errors.ts';
import type { RleMask } from '../masks/rle.ts';
import type { CocoAnnotation, CocoCategory, CocoDataset, CocoImage, Segmentation } from '../types.ts';
import { AnnotationFormatError } from './errors.ts';
import { arr, bbox, int, isObj, num, obj, str } from './validate.ts';

export interface CocoReadOptions {
  /** Require `file_name` on images (default true; LVIS v1 has only `coco_url`). */
  requireFileName?: boolean;
  /** Require every annotation's image and category to exist (default true). */
  checkReferences?: boolean;
  /** Name used in error paths (default none). */
  source?: string;
}

/** Validates one `segmentation` value: polygon list, or RLE with string / integer counts. */
export function readSegmentation(v: unknown, path: string, image?: { height: number; width: number }): Segmentation {
  if (Array.isArray(v)) {
    v.forEach((p, i) => {
      const poly = arr(p, `${path}[${i}]`);
      if (poly.length < 4 || poly.length % 2 !== 0) {
        throw new AnnotationFormatError(`${path}[${i}]`, `polygon needs an even number (>= 4) of coordinates, got ${poly.length}`);
      }
      poly.forEach((x, j) => num(x, `${path}[${i}][${j}]`));
    });
    return v as number[][];
  }
  const o = obj(v, path);
  const size = arr(o.size, `${path}.size`);
  if (size.length !== 2) throw new AnnotationFormatError(`${path}.size`, 'expected [h, w]');
  const h = int(size[0], `${path}.size[0]`);
  const w = int(size[1], `${path}.size[1]`);
  if (image && (h !== image.height || w !== image.width)) {
    throw new AnnotationFormatError(`${path}.size`, `RLE size [${h}, ${w}] differs from the image size [${image.height}, ${image.width}]`);
  }
  if (typeof o.counts === 'string') return { size: [h, w], counts: o.counts };
  const counts = arr(o.counts, `${path}.counts`).map((c, i) => {
    const n = int(c, `${path}.counts[${i}]`);
    if (n < 0) throw new AnnotationFormatError(`${path}.counts[${i}]`, 'negative run length');
    return n;
  });
  return { size: [h, w], counts };
}

export function readCocoImage(v: unknown, path: string, requireFileName = true): CocoImage {
  const o = obj(v, path);
  const width = int(o.width, `${path}.width`);
  const height = int(o.height, `${path}.height`);
  if (width <= 0 || height <= 0) throw new AnnotationFormatError(path, `invalid image size ${width}x${height}`);
  const fileName = o.file_name === undefined && !requireFileName ? '' : str(o.file_name, `${path}.file_name`);
  return { ...o, id: int(o.id, `${path}.id`), width, height, file_name: fileName };
}

export function readCocoCategory(v: unknown, path: string): CocoCategory {
  const o = obj(v, path);
  return { ...o, id: int(o.id, `${path}.id`), name: str(o.name, `${path}.name`) };
}

export function readCocoAnnotation(v: unknown, path: string, image?: CocoImage): CocoAnnotation {
  const o = obj(v, path);
  const iscrowd = o.iscrowd === undefined ? 0 : int(o.iscrowd, `${path}.iscrowd`);
  if (iscrowd !== 0 && iscrowd !== 1) throw new AnnotationFormatError(`${path}.iscrowd`, `expected 0 or 1, got ${iscrowd}`);
  return {
    ...o,
    id: int(o.id, `${path}.id`),
    image_id: int(o.image_id, `${path}.image_id`),
    category_id: int(o.category_id, `${path}.category_id`),
    segmentation: readSegmentation(o.segmentation, `${path}.segmentation`, image),
    area: o.area === undefined ? 0 : num(o.area, `${path}.area`),
    bbox: bbox(o.bbox, `${path}.bbox`),
    iscrowd,
  };
}

function uniqueIds<T extends { id: number }>(items: T[], path: string): Map<number, T> {
  const m = new Map<number, T>();
  items.forEach((it, i) => {
    if (m.has(it.id)) throw new AnnotationFormatError(`${path}[${i}].id`, `duplicate id ${it.id}`);
    m.set(it.id, it);
  });
  return m;
}

/**
 * Reads a COCO instances file (already JSON-parsed): validates every image, category and annotation (ids unique,
 * references resolvable, segmentation well-formed and RLE size = image size), fills `iscrowd` = 0 when missing,
 * and returns the same JSON shape.
 */
export function readCocoInstances(data: unknown, opts: CocoReadOptions = {}): CocoDataset {
  const root = obj(data, opts.source ?? '');
  const p = (k: string): string => (opts.source ? `${opts.source}.${k}` : k);
  const images = arr(root.images, p('images')).map((im, i) => readCocoImage(im, `${p('images')}[${i}]`, opts.requireFileName ?? true));
  const categories = arr(root.categories ?? [], p('categories')).map((c, i) => readCocoCategory(c, `${p('categories')}[${i}]`));
  const imageById = uniqueIds(images, p('images'));
  const catById = uniqueIds(categories, p('categories'));
  const check = opts.checkReferences ?? true;
  const annotations = arr(root.annotations, p('annotations')).map((a, i) => {
    const path = `${p('annotations')}[${i}]`;
    const imageId = isObj(a) ? a.image_id : undefined;
    const image = typeof imageId === 'number' ? imageById.get(imageId) : undefined;
    const ann = readCocoAnnotation(a, path, image);
    if (check && !image) throw new AnnotationFormatError(`${path}.image_id`, `unknown image ${ann.image_id}`);
    if (check && categories.length > 0 && !catById.has(ann.category_id)) {
      throw new AnnotationFormatError(`${path}.category_id`, `unknown category ${ann.category_id}`);
    }
    return ann;
  });
  uniqueIds(annotations, p('annotations'));
  return { ...root, images, annotations, categories };
}

/** Lookup tables over a COCO-style dataset, and annotation masks as RLE (COCO `annToRLE`). */
export class CocoIndex<D extends CocoDataset = CocoDataset> {
  readonly images = new Map<number, CocoImage>();
  readonly categories = new Map<number, CocoCategory>();
  readonly annotations = new Map<number, CocoAnnotation>();
  readonly annotationsByImage = new Map<number, CocoAnnotation[]>();
  readonly annotationsByCategory = new Map<number, CocoAnnotation[]>();

  constructor(readonly dataset: D) {
    for (const im of dataset.images) this.images.set(im.id, im);
    for (const c of dataset.categories) this.categories.set(c.id, c);
    for (const a of dataset.annotations) {
      this.annotations.set(a.id, a);
      push(this.annotationsByImage, a.image_id, a);
      push(this.annotationsByCategory, a.category_id, a);
    }
  }

  /** The annotation's mask in its image's frame (polygons rasterised as pycocotools, RLE decoded from JSON). */
  mask(annOrId: CocoAnnotation | number): RleMask {
    const a = typeof annOrId === 'number' ? this.annotations.get(annOrId) : annOrId;
    if (!a) throw new AnnotationFormatError('', `unknown annotation ${typeof annOrId === 'number' ? annOrId : annOrId.id}`);
    const im = this.images.get(a.image_id);
    if (!im) throw new AnnotationFormatError('', `annotation ${a.id} names unknown image ${a.image_id}`);
    try {
      return segmentationToRle(a.segmentation, im.height, im.width);
    } catch (e) {
      if (e instanceof MaskFormatError) throw new AnnotationFormatError(`annotation ${a.id}.segmentation`, e.message);
      throw e;
    }
  }

  categoryName(id: number): string {
    return this.categories.get(id)?.name ?? String(id);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

