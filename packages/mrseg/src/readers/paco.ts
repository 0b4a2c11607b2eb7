/**
 * PACO-LVIS / PACO-EGO4D (facebookresearch/paco docs/PACO_DATASET.md): a COCO-format file whose annotations are
 * objects (`obj_ann_id` = own id) and parts (`obj_ann_id` = the object's annotation id, category named
 * "<object>:<part>"), with attribute ids (colour, pattern/marking, material, transparency) on both.
 */
import type { RleMask } from '../masks/rle.ts';
import type { CocoAnnotation, CocoCategory, CocoDataset } from '../types.ts';
import { CocoIndex, readCocoInstances } from './coco.ts';
import { AnnotationFormatError } from './errors.ts';
import { arr, int, intList, isObj, obj, str } from './validate.ts';

export interface PacoAnnotation extends CocoAnnotation {
  obj_ann_id: number;
  attribute_ids: number[];
  dom_color_ids: number[];
}

export interface PacoDataset extends CocoDataset {
  annotations: PacoAnnotation[];
  part_categories: CocoCategory[];
  attributes: CocoCategory[];
  /** e.g. { color: [0..29], pattern_marking: [30..40], material: [41..54], transparency: [55..58] }. */
  attr_type_to_attr_idxs: Record<string, number[]>;
}

export interface PacoPart {
  annotation: PacoAnnotation;
  /** Part name, e.g. "wheel" (from "bicycle:wheel"). */
  part: string;
  /** Full category name "<object>:<part>". */
  category: string;
  attributes: string[];
}

export interface PacoObject {
  annotation: PacoAnnotation;
  category: string;
  attributes: string[];
  parts: PacoPart[];
}

export function readPaco(data: unknown): PacoDataset {
  const root = obj(data, '');
  const ds = readCocoInstances(data);
  const annotations = ds.annotations.map((a, i): PacoAnnotation => {
    const path = `annotations[${i}]`;
    return {
      ...a,
      obj_ann_id: a.obj_ann_id === undefined ? a.id : int(a.obj_ann_id, `${path}.obj_ann_id`),
      attribute_ids: intList(a.attribute_ids, `${path}.attribute_ids`),
      dom_color_ids: intList(a.dom_color_ids, `${path}.dom_color_ids`),
    };
  });
  const named = (v: unknown, path: string): CocoCategory[] =>
    (v === undefined ? [] : arr(v, path)).map((c, i) => {
      const o = obj(c, `${path}[${i}]`);
      return { ...o, id: int(o.id, `${path}[${i}].id`), name: str(o.name, `${path}[${i}].name`) };
    });
  const attrTypes: Record<string, number[]> = {};
  if (root.attr_type_to_attr_idxs !== undefined) {
    const o = obj(root.attr_type_to_attr_idxs, 'attr_type_to_attr_idxs');
    for (const [k, v] of Object.entries(o)) attrTypes[k] = intList(v, `attr_type_to_attr_idxs.${k}`);
  }
  const out: PacoDataset = {
    ...ds,
    annotations,
    part_categories: named(root.part_categories, 'part_categories'),
    attributes: named(root.attributes, 'attributes'),
    attr_type_to_attr_idxs: attrTypes,
  };
  // Parts must point at an object annotation of the same image.
  const byId = new Map(annotations.map((a) => [a.id, a]));
  annotations.forEach((a, i) => {
    if (a.obj_ann_id === a.id) return;
    const owner = byId.get(a.obj_ann_id);
    if (!owner) throw new AnnotationFormatError(`annotations[${i}].obj_ann_id`, `unknown object annotation ${a.obj_ann_id}`);
    if (owner.obj_ann_id !== owner.id) {
      throw new AnnotationFormatError(`annotations[${i}].obj_ann_id`, `annotation ${a.obj_ann_id} is itself a part`);
    }
    if (owner.image_id !== a.image_id) {
      throw new AnnotationFormatError(`annotations[${i}].obj_ann_id`, `object ${a.obj_ann_id} is in another image`);
    }
  });
  return out;
}

/** Objects with their parts and attribute names, per image. */
export class PacoIndex extends CocoIndex<PacoDataset> {
  readonly attributeNames = new Map<number, string>();
  private readonly objectsByImage = new Map<number, PacoObject[]>();

  constructor(ds: PacoDataset) {
    super(ds);
    for (const a of ds.attributes) this.attributeNames.set(a.id, a.name);
    const objects = new Map<number, PacoObject>();
    for (const a of ds.annotations) {
      if (a.obj_ann_id !== a.id) continue;
      const o: PacoObject = { annotation: a, category: this.categoryName(a.category_id), attributes: this.attrs(a), parts: [] };
      objects.set(a.id, o);
      const l = this.objectsByImage.get(a.image_id);
      if (l) l.push(o);
      else this.objectsByImage.set(a.image_id, [o]);
    }
    for (const a of ds.annotations) {
      if (a.obj_ann_id === a.id) continue;
      const owner = objects.get(a.obj_ann_id);
      if (!owner) continue;
      const category = this.categoryName(a.category_id);
      const colon = category.indexOf(':');
      owner.parts.push({ annotation: a, part: colon >= 0 ? category.slice(colon + 1) : category, category, attributes: this.attrs(a) });
    }
  }

  private attrs(a: PacoAnnotation): string[] {
    return a.attribute_ids.map((id) => this.attributeNames.get(id) ?? String(id));
  }

  /** Objects of an image (in file order), each with its parts. */
  objects(imageId: number): PacoObject[] {
    return this.objectsByImage.get(imageId) ?? [];
  }

  /** Attribute type ("color", "material", ...) of an attribute id, from attr_type_to_attr_idxs. */
  attributeType(id: number): string | undefined {
    for (const [k, ids] of Object.entries(this.dataset.attr_type_to_attr_idxs)) if (ids.includes(id)) return k;
    return undefined;
  }

  objectMask(o: PacoObject | PacoPart): RleMask {
    return this.mask(o.annotation);
  }
}

export const isPacoDataset = (v: unknown): boolean => isObj(v) && Array.isArray(v.annotations) && 'part_categories' in v;
