/**
 * RefCOCO / RefCOCO+ / RefCOCOg referring expressions (the `refer` toolkit's `refs(<split>).p` pickle or its JSON
 * form): a list of refs, each naming one COCO annotation and its sentences.
 */
import { AnnotationFormatError } from './errors.ts';
import { unpickle } from './pickle.ts';
import { arr, int, intList, obj, parseJson, str, strList } from './validate.ts';

export interface ReferSentence {
  sent_id: number;
  /** Lower-cased, tokenised sentence (tokens joined by spaces). */
  sent: string;
  /** The sentence as written by the annotator. */
  raw: string;
  tokens: string[];
}

export interface ReferRef {
  ref_id: number;
  ann_id: number;
  image_id: number;
  category_id: number;
  /** "train", "val", "test", "testA", "testB" (depends on the dataset and split-by). */
  split: string;
  file_name: string;
  sent_ids: number[];
  sentences: ReferSentence[];
}

function readSentence(v: unknown, path: string): ReferSentence {
  const o = obj(v, path);
  const sent = str(o.sent ?? o.raw, `${path}.sent`);
  return {
    sent_id: int(o.sent_id, `${path}.sent_id`),
    sent,
    raw: o.raw === undefined ? sent : str(o.raw, `${path}.raw`),
    tokens: o.tokens === undefined ? sent.split(' ').filter(Boolean) : strList(o.tokens, `${path}.tokens`),
  };
}

/** Validates a parsed refs list (from the pickle or JSON); ref ids must be unique. */
export function readReferRefs(data: unknown, source = 'refs'): ReferRef[] {
  const seen = new Set<number>();
  return arr(data, source).map((v, i) => {
    const path = `${source}[${i}]`;
    const o = obj(v, path);
    const sentences = arr(o.sentences, `${path}.sentences`).map((s, j) => readSentence(s, `${path}.sentences[${j}]`));
    const ref: ReferRef = {
      ref_id: int(o.ref_id, `${path}.ref_id`),
      ann_id: int(o.ann_id, `${path}.ann_id`),
      image_id: int(o.image_id, `${path}.image_id`),
      category_id: int(o.category_id, `${path}.category_id`),
      split: str(o.split, `${path}.split`),
      file_name: o.file_name === undefined ? '' : str(o.file_name, `${path}.file_name`),
      sent_ids: o.sent_ids === undefined ? sentences.map((s) => s.sent_id) : intList(o.sent_ids, `${path}.sent_ids`),
      sentences,
    };
    if (seen.has(ref.ref_id)) throw new AnnotationFormatError(`${path}.ref_id`, `duplicate ref id ${ref.ref_id}`);
    seen.add(ref.ref_id);
    return ref;
  });
}

/** Reads `refs(<split>).p` (a pickle of plain lists/dicts; see pickle.ts for what is accepted). */
export function readReferPickle(bytes: Uint8Array): ReferRef[] {
  return readReferRefs(unpickle(bytes), 'refs.p');
}

/** Reads the JSON form of the refs list. */
export function readReferJson(text: string | Uint8Array): ReferRef[] {
  return readReferRefs(parseJson(text, 'refs JSON'), 'refs.json');
}

/** Refs grouped by image / annotation / split, and sentences by id. */
export class ReferIndex {
  readonly refs = new Map<number, ReferRef>();
  readonly refsByImage = new Map<number, ReferRef[]>();
  readonly refByAnn = new Map<number, ReferRef>();
  readonly sentences = new Map<number, ReferSentence>();

  constructor(refs: readonly ReferRef[]) {
    for (const r of refs) {
      this.refs.set(r.ref_id, r);
      const l = this.refsByImage.get(r.image_id);
      if (l) l.push(r);
      else this.refsByImage.set(r.image_id, [r]);
      this.refByAnn.set(r.ann_id, r);
      for (const s of r.sentences) this.sentences.set(s.sent_id, s);
    }
  }

  split(name: string): ReferRef[] {
    return [...this.refs.values()].filter((r) => r.split === name);
  }

  /** Throws unless every ref's annotation and image exist in the instances (ids given as sets or maps). */
  checkAgainst(annIds: { has(id: number): boolean }, imageIds: { has(id: number): boolean }): void {
    for (const r of this.refs.values()) {
      if (!annIds.has(r.ann_id)) throw new AnnotationFormatError(`ref ${r.ref_id}.ann_id`, `annotation ${r.ann_id} is not in the instances`);
      if (!imageIds.has(r.image_id)) throw new AnnotationFormatError(`ref ${r.ref_id}.image_id`, `image ${r.image_id} is not in the instances`);
    }
  }
}
