/**
 * Visual Genome: scene graphs (scene_graphs.json: objects + relationships), region descriptions
 * (region_descriptions.json), image metadata (image_data.json), and GQA scene graphs (normalised to the same shape).
 *
 * Relationships come in two forms in the wild: with `subject_id` / `object_id`, or with nested `subject` / `object`
 * objects (relationships.json). Both are read; nested objects missing from `objects` are added to it.
 */
import { AnnotationFormatError } from './errors.ts';
import { arr, int, isObj, num, obj, str, strList } from './validate.ts';

export interface VgObject {
  object_id: number;
  x: number;
  y: number;
  w: number;
  h: number;
  names: string[];
  synsets: string[];
  attributes: string[];
}

export interface VgRelationship {
  relationship_id: number;
  predicate: string;
  subject_id: number;
  object_id: number;
  synsets: string[];
}

export interface VgSceneGraph {
  image_id: number;
  objects: VgObject[];
  relationships: VgRelationship[];
}

export interface VgRegion {
  region_id: number;
  image_id: number;
  phrase: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface VgImage {
  image_id: number;
  width: number;
  height: number;
  url: string;
  coco_id: number | null;
  flickr_id: number | null;
}

function readObject(v: unknown, path: string): VgObject {
  const o = obj(v, path);
  const names = o.names !== undefined ? strList(o.names, `${path}.names`) : o.name !== undefined ? [str(o.name, `${path}.name`)] : [];
  if (names.length === 0) throw new AnnotationFormatError(path, 'object has no name');
  const w = num(o.w ?? o.width, `${path}.w`);
  const h = num(o.h ?? o.height, `${path}.h`);
  if (w < 0 || h < 0) throw new AnnotationFormatError(path, `negative box size ${w}x${h}`);
  return {
    object_id: int(o.object_id ?? o.id, `${path}.object_id`),
    x: num(o.x, `${path}.x`),
    y: num(o.y, `${path}.y`),
    w,
    h,
    names,
    synsets: strList(o.synsets, `${path}.synsets`),
    attributes: strList(o.attributes, `${path}.attributes`),
  };
}

/** Reads one scene graph; relationship endpoints must resolve to objects of the graph. */
export function readVgSceneGraph(v: unknown, path = 'graph'): VgSceneGraph {
  const g = obj(v, path);
  const imageId = int(g.image_id ?? g.id, `${path}.image_id`);
  const objects = new Map<number, VgObject>();
  arr(g.objects ?? [], `${path}.objects`).forEach((o, i) => {
    const ob = readObject(o, `${path}.objects[${i}]`);
    if (objects.has(ob.object_id)) throw new AnnotationFormatError(`${path}.objects[${i}].object_id`, `duplicate object ${ob.object_id}`);
    objects.set(ob.object_id, ob);
  });
  const endpoint = (r: Record<string, unknown>, key: 'subject' | 'object', rp: string): number => {
    const nested = r[key];
    if (isObj(nested)) {
      const ob = readObject(nested, `${rp}.${key}`);
      if (!objects.has(ob.object_id)) objects.set(ob.object_id, ob);
      return ob.object_id;
    }
    const id = int(r[`${key}_id`], `${rp}.${key}_id`);
    if (!objects.has(id)) throw new AnnotationFormatError(`${rp}.${key}_id`, `unknown object ${id}`);
    return id;
  };
  const relationships = arr(g.relationships ?? [], `${path}.relationships`).map((rv, i): VgRelationship => {
    const rp = `${path}.relationships[${i}]`;
    const r = obj(rv, rp);
    return {
      relationship_id: int(r.relationship_id ?? r.id, `${rp}.relationship_id`),
      predicate: str(r.predicate, `${rp}.predicate`),
      subject_id: endpoint(r, 'subject', rp),
      object_id: endpoint(r, 'object', rp),
      synsets: strList(r.synsets, `${rp}.synsets`),
    };
  });
  return { image_id: imageId, objects: [...objects.values()], relationships };
}

/** scene_graphs.json (a list of graphs). */
export function readVgSceneGraphs(data: unknown): VgSceneGraph[] {
  return arr(data, 'scene_graphs').map((g, i) => readVgSceneGraph(g, `scene_graphs[${i}]`));
}

/** region_descriptions.json: a list of `{id?, regions: [...]}` per image; returns the flat region list. */
export function readVgRegions(data: unknown): VgRegion[] {
  const out: VgRegion[] = [];
  arr(data, 'regions').forEach((entry, i) => {
    const e = obj(entry, `regions[${i}]`);
    arr(e.regions, `regions[${i}].regions`).forEach((rv, j) => {
      const p = `regions[${i}].regions[${j}]`;
      const r = obj(rv, p);
      out.push({
        region_id: int(r.region_id ?? r.id, `${p}.region_id`),
        image_id: int(r.image_id ?? e.id, `${p}.image_id`),
        phrase: str(r.phrase, `${p}.phrase`),
        x: num(r.x, `${p}.x`),
        y: num(r.y, `${p}.y`),
        width: num(r.width, `${p}.width`),
        height: num(r.height, `${p}.height`),
      });
    });
  });
  return out;
}

/** image_data.json. */
export function readVgImageData(data: unknown): VgImage[] {
  const optInt = (v: unknown, p: string): number | null => (v === null || v === undefined ? null : int(v, p));
  return arr(data, 'image_data').map((v, i) => {
    const p = `image_data[${i}]`;
    const o = obj(v, p);
    return {
      image_id: int(o.image_id ?? o.id, `${p}.image_id`),
      width: int(o.width, `${p}.width`),
      height: int(o.height, `${p}.height`),
      url: o.url === undefined ? '' : str(o.url, `${p}.url`),
      coco_id: optInt(o.coco_id, `${p}.coco_id`),
      flickr_id: optInt(o.flickr_id, `${p}.flickr_id`),
    };
  });
}

/**
 * GQA scene graphs (`{"<imageId>": {width, height, objects: {"<objId>": {name, x, y, w, h, attributes,
 * relations: [{object, name}]}}}}`) in the VG shape. Graphs and objects come in JavaScript key order (ascending for
 * integer-like keys, as JSON.parse builds them); relationship ids are assigned in that order.
 */
export interface GqaSceneGraph extends Omit<VgSceneGraph, 'image_id'> {
  /** GQA image ids are strings (numeric for VG images, "n<digits>" for others). */
  image_key: string;
  width: number;
  height: number;
}

export function readGqaSceneGraphs(data: unknown): GqaSceneGraph[] {
  const root = obj(data, 'gqa');
  return Object.entries(root).map(([imageKey, gv]) => {
    const p = `gqa.${imageKey}`;
    const g = obj(gv, p);
    const toId = (s: string, path: string): number => {
      if (!/^\d+$/.test(s)) throw new AnnotationFormatError(path, `non-numeric id ${JSON.stringify(s)}`);
      return Number(s);
    };
    const objs = obj(g.objects ?? {}, `${p}.objects`);
    const objects: VgObject[] = [];
    const relationships: VgRelationship[] = [];
    for (const [oid, ov] of Object.entries(objs)) {
      const op = `${p}.objects.${oid}`;
      const o = obj(ov, op);
      objects.push(readObject({ ...o, object_id: toId(oid, op) }, op));
    }
    const ids = new Set(objects.map((o) => o.object_id));
    for (const [oid, ov] of Object.entries(objs)) {
      const op = `${p}.objects.${oid}`;
      arr(obj(ov, op).relations ?? [], `${op}.relations`).forEach((rv, i) => {
        const rp = `${op}.relations[${i}]`;
        const r = obj(rv, rp);
        const target = toId(str(r.object, `${rp}.object`), `${rp}.object`);
        if (!ids.has(target)) throw new AnnotationFormatError(`${rp}.object`, `unknown object ${target}`);
        relationships.push({
          relationship_id: relationships.length,
          predicate: str(r.name, `${rp}.name`),
          subject_id: toId(oid, op),
          object_id: target,
          synsets: [],
        });
      });
    }
    return {
      image_key: imageKey,
      width: int(g.width, `${p}.width`),
      height: int(g.height, `${p}.height`),
      objects,
      relationships,
    };
  });
}
