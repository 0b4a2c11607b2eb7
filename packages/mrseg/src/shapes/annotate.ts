/**
 * Turns a rendered scene into COCO-style annotations (objects, parts, semantic class regions, relationships)
 * whose RLE masks are read from the label map, and into the inputs of every conversation generator.
 */
import { captionInstances } from '../generators/common.ts';
import { pairLocationWords } from '../generators/relations.ts';
import type { Rng } from '../generators/rng.ts';
import type {
  AttributeInput,
  Box,
  CaptionedObject,
  HardInput,
  HierarchicalInput,
  InteractionalInput,
  PositionalInput,
  SemanticInput,
} from '../generators/types.ts';
import { rleArea, rleToBbox, rleToCoco, type CompressedRle, type RleMask } from '../masks/index.ts';
import type { CocoCategory } from '../types.ts';
import { CLASSES, COMPOSITE_CLASSES, COLORS, type Pattern, type SizeWord } from './classes.ts';
import type { Rendered } from './render.ts';
import type { Predicate, Scene } from './scene.ts';

export const SHAPES_DATASET = 'shapes';
/** Objects whose visible area is smaller than this are dropped (fully or almost fully occluded). */
export const MIN_OBJECT_AREA = 16;
export const MIN_PART_AREA = 6;

export interface ShapesAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: CompressedRle;
  area: number;
  bbox: [number, number, number, number];
  /** 1 only for semantic class regions (all instances of a class). */
  iscrowd: 0 | 1;
  kind: 'object' | 'part' | 'semantic';
  /** The object a part belongs to (the annotation's own id for objects), as in PACO. */
  obj_ann_id?: number;
  part_name?: string;
  attributes?: { color: string; size: SizeWord; pattern: Pattern };
}

export interface ShapesRelationship {
  id: number;
  image_id: number;
  subject_id: number;
  predicate: Predicate;
  object_id: number;
}

/** Categories: object classes (ids 1..), then "<class>:<part>" part categories (ids 101..). */
export const SHAPES_CATEGORIES: readonly CocoCategory[] = (() => {
  const cats: CocoCategory[] = CLASSES.map((c, i) => ({ id: i + 1, name: c.name, supercategory: 'shape' }));
  let pid = 101;
  for (const c of COMPOSITE_CLASSES) {
    for (const p of c.build(0, 0, 40, 40 * c.aspect, COLORS.red)) {
      cats.push({ id: pid++, name: `${c.name}:${p.name}`, supercategory: 'part' });
    }
  }
  return cats;
})();
const CAT_ID = new Map(SHAPES_CATEGORIES.map((c) => [c.name, c.id]));

export interface ImageAnnotations {
  annotations: ShapesAnnotation[];
  relationships: ShapesRelationship[];
  positional: PositionalInput;
  hierarchical: HierarchicalInput;
  interactional: InteractionalInput;
  hard: HardInput;
  attribute: AttributeInput;
  semantic: SemanticInput;
}

interface Ids {
  nextAnn: number;
  nextRel: number;
}

/**
 * COCO RLEs (column-major, zeros first) of many masks in one pass over the label map: `members[label]` lists the
 * masks a label belongs to. Runs only change where the label changes, so the cost is one visit per pixel.
 */
function multiRle(labels: Int16Array, h: number, w: number, members: readonly number[][], n: number): RleMask[] {
  const counts: number[][] = Array.from({ length: n }, () => []);
  const last = new Int32Array(n);
  const none: number[] = [];
  let prev: number[] = none;
  let prevLabel = -1;
  for (let x = 0, p = 0; x < w; x++) {
    for (let y = 0; y < h; y++, p++) {
      const l = labels[y * w + x];
      if (l === prevLabel) continue;
      const cur = l >= 0 ? members[l] : none;
      for (const a of prev) {
        if (!cur.includes(a)) {
          counts[a].push(p - last[a]);
          last[a] = p;
        }
      }
      for (const a of cur) {
        if (!prev.includes(a)) {
          counts[a].push(p - last[a]);
          last[a] = p;
        }
      }
      prev = cur;
      prevLabel = l;
    }
  }
  return counts.map((c, a) => {
    c.push(h * w - last[a]);
    return { h, w, counts: Uint32Array.from(c) };
  });
}

function plural(name: string): string {
  return /(s|x|sh|ch)$/.test(name) ? `${name}es` : `${name}s`;
}

interface Obj {
  ann: ShapesAnnotation;
  cls: string;
  color: string;
  size: SizeWord;
  pattern: Pattern;
}

type Attr = 'color' | 'size' | 'pattern';

/** "the small striped red circle" for the chosen attributes. */
function phrase(o: Obj, attrs: readonly Attr[]): string {
  const words = [attrs.includes('size') ? o.size : '', attrs.includes('pattern') ? o.pattern : '', attrs.includes('color') ? o.color : ''];
  return ['the', ...words.filter((w) => w !== ''), o.cls].join(' ');
}

const CAPTION_ATTRS: readonly (readonly Attr[])[] = [[], ['color'], ['size'], ['pattern'], ['size', 'color'], ['pattern', 'color']];
const DESCRIPTION_ATTRS: readonly (readonly Attr[])[] = [
  ['color'], ['size', 'color'], ['color', 'pattern'], ['size', 'pattern'], ['size', 'color', 'pattern'],
];

function matches(a: Obj, b: Obj, attrs: readonly Attr[], withClass: boolean): boolean {
  return (!withClass || a.cls === b.cls) && attrs.every((k) => a[k] === b[k]);
}

/** Unique referring captions for each object: attribute phrases that match only it, or two + location words. */
function captionsFor(objs: Obj[], rng: Rng): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const o of objs) {
    const caps: string[] = [];
    for (const attrs of CAPTION_ATTRS) {
      const same = objs.filter((p) => matches(o, p, attrs, true));
      if (same.length === 1) caps.push(phrase(o, attrs));
      else if (same.length === 2 && attrs.length <= 1) {
        const other = same[0] === o ? same[1] : same[0];
        const [mine] = pairLocationWords(o.ann.bbox, other.ann.bbox);
        const [theirs] = pairLocationWords(other.ann.bbox, o.ann.bbox);
        if (mine !== theirs) caps.push(`${phrase(o, attrs)} ${mine}`);
      }
    }
    out.set(o.ann.id, rng.sample(caps, 3));
  }
  return out;
}

function describe(o: Obj, objs: Obj[], rng: Rng): string | null {
  for (const attrs of rng.shuffle(DESCRIPTION_ATTRS)) {
    if (objs.filter((p) => matches(o, p, attrs, false)).length === 1) {
      const words = attrs.map((k) => o[k]);
      const list = words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
      return `is ${list}`;
    }
  }
  return null;
}

/** Annotations and generator inputs of one rendered scene. `ids` is advanced (ids are unique per split). */
export function annotateScene(scene: Scene, r: Rendered, imageId: number, image: string, ids: Ids, rng: Rng): ImageAnnotations {
  const { width: w, height: h } = r;
  // Visible pixels per part slot decide which objects and parts are kept; then one pass encodes every mask.
  const slotArea = new Int32Array(r.slots.length);
  for (const l of r.labels) if (l >= 0) slotArea[l]++;
  const objArea = new Int32Array(scene.objects.length);
  r.slots.forEach((sl, i) => (objArea[sl.object] += slotArea[i]));
  const keyIndex = new Map<string, number>();
  const members: number[][] = r.slots.map(() => []);
  const addKey = (key: string, slots: number[]): void => {
    const k = keyIndex.size;
    keyIndex.set(key, k);
    for (const s of slots) members[s].push(k);
  };
  const keptClasses = new Map<string, number[]>();
  scene.objects.forEach((o, oi) => {
    if (objArea[oi] < MIN_OBJECT_AREA) return;
    const slots = r.slots.flatMap((sl, i) => (sl.object === oi ? [i] : []));
    addKey(`o${oi}`, slots);
    if (o.cls.composite) for (const s of slots) if (slotArea[s] >= MIN_PART_AREA) addKey(`p${s}`, [s]);
    keptClasses.set(o.cls.name, [...(keptClasses.get(o.cls.name) ?? []), ...slots]);
  });
  for (const [cls, slots] of keptClasses) addKey(`c${cls}`, slots);
  const masks = multiRle(r.labels, h, w, members, keyIndex.size);
  const rleOf = (key: string): Pick<ShapesAnnotation, 'segmentation' | 'area' | 'bbox'> => {
    const e = masks[keyIndex.get(key)!];
    return { segmentation: rleToCoco(e), area: rleArea(e), bbox: rleToBbox(e) };
  };
  const annotations: ShapesAnnotation[] = [];
  const objAnnByIndex = new Map<number, Obj>();
  const parts = new Map<number, { id: number; box: Box; name: string }[]>();
  scene.objects.forEach((o, oi) => {
    if (!keyIndex.has(`o${oi}`)) return;
    const m = rleOf(`o${oi}`);
    const id = ids.nextAnn++;
    const ann: ShapesAnnotation = {
      id, image_id: imageId, category_id: CAT_ID.get(o.cls.name)!, ...m, iscrowd: 0, kind: 'object', obj_ann_id: id,
      attributes: { color: o.color, size: o.size, pattern: o.pattern },
    };
    annotations.push(ann);
    objAnnByIndex.set(oi, { ann, cls: o.cls.name, color: o.color, size: o.size, pattern: o.pattern });
    if (!o.cls.composite) return;
    const list: { id: number; box: Box; name: string }[] = [];
    o.parts.forEach((p, pi) => {
      const slot = r.slots.findIndex((sl) => sl.object === oi && sl.part === pi);
      if (!keyIndex.has(`p${slot}`)) return;
      const pm = rleOf(`p${slot}`);
      const pid = ids.nextAnn++;
      annotations.push({
        id: pid, image_id: imageId, category_id: CAT_ID.get(`${o.cls.name}:${p.name}`)!, ...pm, iscrowd: 0, kind: 'part',
        obj_ann_id: id, part_name: p.name,
      });
      list.push({ id: pid, box: pm.bbox, name: p.name });
    });
    parts.set(id, list);
  });
  const objs = [...objAnnByIndex.values()];
  const semantic: SemanticInput = { image, dataset: SHAPES_DATASET, key: String(imageId), classes: [] };
  for (const cls of [...new Set(objs.map((o) => o.cls))]) {
    const id = ids.nextAnn++;
    annotations.push({ id, image_id: imageId, category_id: CAT_ID.get(cls)!, ...rleOf(`c${cls}`), iscrowd: 1, kind: 'semantic' });
    semantic.classes.push({ id, name: plural(cls) });
  }
  const relationships: ShapesRelationship[] = [];
  for (const rel of scene.relations) {
    const s = objAnnByIndex.get(rel.subject);
    const o = objAnnByIndex.get(rel.object);
    if (s && o) relationships.push({ id: ids.nextRel++, image_id: imageId, subject_id: s.ann.id, predicate: rel.predicate, object_id: o.ann.id });
  }
  const caps = captionsFor(objs, rng);
  const first = (id: number): string | undefined => caps.get(id)?.[0];
  const base = { image, dataset: SHAPES_DATASET, key: String(imageId) };
  const positional: PositionalInput = {
    ...base,
    objects: objs.map((o): CaptionedObject => ({ id: o.ann.id, box: o.ann.bbox, category: o.cls, captions: caps.get(o.ann.id) ?? [] })),
  };
  const auto = captionInstances(objs.map((o) => ({ id: o.ann.id, box: o.ann.bbox, category: o.cls })));
  const hierarchical: HierarchicalInput = {
    ...base,
    objects: objs
      .filter((o) => (parts.get(o.ann.id)?.length ?? 0) > 0 && (first(o.ann.id) ?? auto.get(o.ann.id)) !== undefined)
      .map((o) => ({ id: o.ann.id, box: o.ann.bbox, category: o.cls, caption: first(o.ann.id) ?? (auto.get(o.ann.id) as string), parts: parts.get(o.ann.id)! })),
  };
  const interactional: InteractionalInput = {
    ...base,
    objects: objs.filter((o) => first(o.ann.id) !== undefined).map((o) => ({ id: o.ann.id, box: o.ann.bbox, name: o.cls, caption: first(o.ann.id) })),
    relationships: relationships
      .filter((x) => first(x.subject_id) !== undefined)
      .map((x) => ({ subject: x.subject_id, predicate: x.predicate, object: x.object_id })),
  };
  // Objects named in relationships need an entry even without a unique caption (they are the answer).
  for (const x of interactional.relationships) {
    if (!interactional.objects.some((o) => o.id === x.object)) {
      const o = objs.find((p) => p.ann.id === x.object)!;
      interactional.objects.push({ id: o.ann.id, box: o.ann.bbox, name: o.cls });
    }
  }
  const hard: HardInput = { ...base, objects: objs.map((o) => ({ id: o.ann.id, box: o.ann.bbox, category: o.cls })) };
  const attribute: AttributeInput = {
    ...base,
    objects: objs.flatMap((o) => {
      const d = describe(o, objs, rng);
      return d === null ? [] : [{ id: o.ann.id, description: d }];
    }),
  };
  return { annotations, relationships, positional, hierarchical, interactional, hard, attribute, semantic };
}
