/**
 * Adapters from parsed annotation files to generator inputs. They take the JSON objects as the readers (or
 * JSON.parse) return them and only read the fields the generators need, so they work with reader output too.
 */
import type { CocoAnnotation, CocoDataset, CocoImage } from '../types.ts';
import { readableName } from './common.ts';
import { lvisCaptionedObjects } from './positional.ts';
import type {
  Box,
  HardInput,
  HierarchicalInput,
  InteractionalInput,
  NamedObject,
  ObjectWithParts,
  PositionalInput,
  Relationship,
} from './types.ts';

export class AdapterInputError extends Error {
  override readonly name = 'AdapterInputError';
}

/** One RefCOCO/+/g ref as in `refs(<split>).p` / its JSON form. */
export interface RefcocoRef {
  ref_id: number;
  ann_id: number;
  image_id: number;
  category_id: number;
  split: string;
  sentences: { raw?: string; sent?: string }[];
}

export interface AdapterOptions {
  /** Dataset name written in the markup. */
  dataset: string;
  /** Prefix joined to each image's file_name to form the markup path (e.g. "coco/train2014/"). */
  imagePrefix?: string;
}

function imagePath(img: CocoImage, prefix: string): string {
  return `${prefix}${img.file_name}`;
}

function box(a: { bbox: number[] }): Box {
  return [a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]];
}

function indexImages(ds: CocoDataset): Map<number, CocoImage> {
  return new Map(ds.images.map((i) => [i.id, i]));
}

function groupByImage<T extends { image_id: number }>(items: readonly T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const it of items) {
    const list = out.get(it.image_id);
    if (list) list.push(it);
    else out.set(it.image_id, [it]);
  }
  return out;
}

/** RefCOCO(+/g): one positional input per image, one object per ref with its sentences as captions. */
export function refcocoPositionalInputs(
  refs: readonly RefcocoRef[],
  instances: CocoDataset,
  opts: AdapterOptions & { split?: string },
): PositionalInput[] {
  const images = indexImages(instances);
  const anns = new Map(instances.annotations.map((a) => [a.id, a]));
  const cats = new Map(instances.categories.map((c) => [c.id, c.name]));
  const out: PositionalInput[] = [];
  for (const [imageId, list] of groupByImage(refs.filter((r) => opts.split === undefined || r.split === opts.split))) {
    const img = images.get(imageId);
    if (!img) throw new AdapterInputError(`ref image ${imageId} is not in the instances file; pass the matching instances.json`);
    const objects = list.map((r) => {
      const a = anns.get(r.ann_id);
      if (!a) throw new AdapterInputError(`ref ${r.ref_id} names annotation ${r.ann_id}, missing from the instances file`);
      return {
        id: a.id,
        box: box(a),
        category: cats.get(a.category_id) ?? String(a.category_id),
        captions: r.sentences.map((s) => s.raw ?? s.sent ?? '').filter((s) => s.length > 0),
      };
    });
    out.push({ image: imagePath(img, opts.imagePrefix ?? ''), dataset: opts.dataset, key: String(imageId), objects });
  }
  return out;
}

/** Hard inputs from COCO-format instances: every non-crowd annotation with its class name. */
export function cocoHardInputs(instances: CocoDataset, opts: AdapterOptions): HardInput[] {
  const images = indexImages(instances);
  const cats = new Map(instances.categories.map((c) => [c.id, c.name]));
  const out: HardInput[] = [];
  for (const [imageId, list] of groupByImage(instances.annotations.filter((a) => a.iscrowd !== 1))) {
    const img = images.get(imageId);
    if (!img) continue;
    out.push({
      image: imagePath(img, opts.imagePrefix ?? ''),
      dataset: opts.dataset,
      key: String(imageId),
      objects: list.map((a) => ({ id: a.id, box: box(a), category: cats.get(a.category_id) ?? String(a.category_id) })),
    });
  }
  return out;
}

/**
 * LVIS (v0.5/v1): classes with one or two instances per image, located when two. Categories whose readable name
 * is in `exclude` or whose `synset` is in `excludeSynsets` (e.g. the COCO classes, from lvis-api's
 * coco_to_synset.json) are left out entirely.
 */
export function lvisPositionalInputs(
  lvis: CocoDataset,
  opts: AdapterOptions & { exclude?: ReadonlySet<string>; excludeSynsets?: ReadonlySet<string> },
): PositionalInput[] {
  const images = indexImages(lvis);
  const cats = new Map(lvis.categories.map((c) => [c.id, readableName(c.name)]));
  const dropped = new Set(
    lvis.categories.filter((c) => typeof c.synset === 'string' && opts.excludeSynsets?.has(c.synset)).map((c) => c.id),
  );
  const out: PositionalInput[] = [];
  for (const [imageId, allAnns] of groupByImage(lvis.annotations)) {
    const list = allAnns.filter((a) => !dropped.has(a.category_id));
    const img = images.get(imageId);
    if (!img) continue;
    const objects = lvisCaptionedObjects(
      list.map((a) => ({ id: a.id, box: box(a), category: cats.get(a.category_id) ?? String(a.category_id) })),
      opts.exclude,
    );
    if (objects.length > 0) {
      out.push({ image: imagePath(img, opts.imagePrefix ?? ''), dataset: opts.dataset, key: String(imageId), objects });
    }
  }
  return out;
}

/**
 * PACO-LVIS (and COCO-style part files): part annotations are those whose category name is "<object>:<part>"
 * and whose `obj_ann_id` names another annotation; objects are the rest.
 */
export function pacoHierarchicalInputs(paco: CocoDataset, opts: AdapterOptions): HierarchicalInput[] {
  const images = indexImages(paco);
  const partCats = Array.isArray(paco.part_categories) ? (paco.part_categories as { id: number; name: string }[]) : [];
  const cats = new Map([...paco.categories, ...partCats].map((c) => [c.id, c.name]));
  const out: HierarchicalInput[] = [];
  for (const [imageId, list] of groupByImage(paco.annotations)) {
    const img = images.get(imageId);
    if (!img) continue;
    const objects = new Map<number, ObjectWithParts>();
    const parts: CocoAnnotation[] = [];
    for (const a of list) {
      const name = cats.get(a.category_id) ?? '';
      const owner = typeof a.obj_ann_id === 'number' ? a.obj_ann_id : a.id;
      if (name.includes(':') && owner !== a.id) parts.push(a);
      else objects.set(a.id, { id: a.id, box: box(a), category: readableName(name), parts: [] });
    }
    for (const p of parts) {
      const obj = objects.get(p.obj_ann_id as number);
      const name = cats.get(p.category_id) ?? '';
      if (obj) obj.parts.push({ id: p.id, box: box(p), name: readableName(name.slice(name.indexOf(':') + 1)) });
    }
    out.push({ image: imagePath(img, opts.imagePrefix ?? ''), dataset: opts.dataset, key: String(imageId), objects: [...objects.values()] });
  }
  return out;
}

interface VgObject {
  object_id: number;
  x: number;
  y: number;
  w: number;
  h: number;
  names?: string[];
  name?: string;
}

interface VgRelationship {
  predicate: string;
  subject_id?: number;
  object_id?: number;
  subject?: { object_id: number };
  object?: { object_id: number };
}

/** A Visual Genome scene graph (scene_graphs.json / relationships.json entries). */
export interface VgSceneGraph {
  image_id: number;
  objects?: VgObject[];
  relationships: VgRelationship[];
}

/** Visual Genome: objects (first name) and relationships; mask ids are the VG object ids. */
export function vgInteractionalInputs(
  graphs: readonly VgSceneGraph[],
  opts: AdapterOptions & { imagePath?: (imageId: number) => string },
): InteractionalInput[] {
  return graphs.map((g) => {
    const objects = new Map<number, NamedObject>();
    const addObject = (o: VgObject): void => {
      const name = o.names?.[0] ?? o.name;
      if (name !== undefined && !objects.has(o.object_id)) {
        objects.set(o.object_id, { id: o.object_id, box: [o.x, o.y, o.w, o.h], name });
      }
    };
    for (const o of g.objects ?? []) addObject(o);
    const relationships: Relationship[] = [];
    for (const r of g.relationships) {
      if (r.subject && 'x' in r.subject) addObject(r.subject as VgObject);
      if (r.object && 'x' in r.object) addObject(r.object as VgObject);
      const s = r.subject_id ?? r.subject?.object_id;
      const o = r.object_id ?? r.object?.object_id;
      if (s !== undefined && o !== undefined) relationships.push({ subject: s, predicate: r.predicate, object: o });
    }
    const image = opts.imagePath ? opts.imagePath(g.image_id) : `${opts.imagePrefix ?? ''}${g.image_id}.jpg`;
    return { image, dataset: opts.dataset, key: String(g.image_id), objects: [...objects.values()], relationships };
  });
}
