import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  AnnotationFormatError,
  CocoIndex,
  PacoIndex,
  PickleError,
  PickleUnsupportedOpcodeError,
  PngFormatError,
  ReferIndex,
  decodePng,
  encodePng,
  labelMapToRles,
  parseJson,
  readAde20kPng,
  readCocoInstances,
  readCocoStuffPng,
  readGqaSceneGraphs,
  readLvis,
  readPaco,
  readPanopticPng,
  readReferJson,
  readReferPickle,
  readVgImageData,
  readVgRegions,
  readVgSceneGraph,
  readVgSceneGraphs,
  rleArea,
  rleEquals,
  rleMerge,
  rleToBbox,
  rleToString,
  unpickle,
  type RleMask,
} from '../src/index.ts';

const fx = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(join(fx, p)));
const json = (p: string): unknown => JSON.parse(readFileSync(join(fx, p), 'utf8'));
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const clone = <T>(v: T): T => structuredClone(v);

describe('COCO instances', () => {
  const raw = json('readers/refcocog-umd/instances.json') as { annotations: Record<string, unknown>[]; images: Record<string, unknown>[] };

  it('reads the RefCOCOg instances (15 images, 108 polygon annotations, 80 categories)', () => {
    const ds = readCocoInstances(raw);
    expect([ds.images.length, ds.annotations.length, ds.categories.length]).toEqual([15, 108, 80]);
    const idx = new CocoIndex(ds);
    for (const a of ds.annotations) {
      const m = idx.mask(a);
      const im = idx.images.get(a.image_id)!;
      expect([m.h, m.w]).toEqual([im.height, im.width]);
      // The rasterised mask lies within the polygon's extent, rounded outwards.
      const [x, y, w, h] = rleToBbox(m);
      expect(x).toBeGreaterThanOrEqual(Math.floor(a.bbox[0]));
      expect(y).toBeGreaterThanOrEqual(Math.floor(a.bbox[1]));
      expect(x + w).toBeLessThanOrEqual(Math.ceil(a.bbox[0] + a.bbox[2]) + 1);
      expect(y + h).toBeLessThanOrEqual(Math.ceil(a.bbox[1] + a.bbox[3]) + 1);
      expect(Math.abs(rleArea(m) - a.area) / a.area).toBeLessThan(0.06);
    }
    expect(idx.annotationsByImage.get(ds.annotations[0].image_id)!.length).toBeGreaterThan(0);
  });

  it('reads compressed RLE (panoptic detection format) and uncompressed crowd RLE', () => {
    const det = readCocoInstances(json('masks/panoptic/panoptic_coco_detection_format.json'));
    const idx = new CocoIndex(det);
    for (const a of det.annotations) expect(rleArea(idx.mask(a.id))).toBe(a.area);
    const crowd = readCocoInstances({
      images: [{ id: 1, width: 3, height: 2, file_name: 'a.jpg' }],
      categories: [{ id: 1, name: 'person' }],
      annotations: [{ id: 5, image_id: 1, category_id: 1, iscrowd: 1, area: 3, bbox: [0, 0, 2, 2], segmentation: { size: [2, 3], counts: [1, 3, 2] } }],
    });
    expect(crowd.annotations[0].iscrowd).toBe(1);
    const m = new CocoIndex(crowd).mask(5);
    expect(rleArea(m)).toBe(3);
    expect(rleToBbox(m)).toEqual([0, 0, 2, 2]);
  });

  it('fills iscrowd = 0 and keeps extra fields', () => {
    const ds = readCocoInstances({
      images: [{ id: 1, width: 4, height: 4, file_name: 'a.jpg', extra: 'x' }],
      categories: [{ id: 2, name: 'cat' }],
      annotations: [{ id: 1, image_id: 1, category_id: 2, area: 4, bbox: [0, 0, 2, 2], segmentation: [[0, 0, 2, 0, 2, 2, 0, 2]], note: 7 }],
    });
    expect(ds.annotations[0].iscrowd).toBe(0);
    expect(ds.annotations[0].note).toBe(7);
    expect(ds.images[0].extra).toBe('x');
  });

  it('rejects malformed input with typed errors naming the field', () => {
    const bad = (mutate: (d: typeof raw) => void, re: RegExp): void => {
      const d = clone(raw);
      mutate(d);
      let err: unknown;
      try {
        readCocoInstances(d);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AnnotationFormatError);
      expect((err as Error).message).toMatch(re);
    };
    bad((d) => (d.annotations[3].image_id = 999), /annotations\[3\]\.image_id: unknown image 999/);
    bad((d) => (d.annotations[4].category_id = 999), /annotations\[4\]\.category_id: unknown category/);
    bad((d) => (d.annotations[5].id = d.annotations[0].id), /annotations\[5\]\.id: duplicate id/);
    bad((d) => (d.annotations[2].bbox = [1, 2, 3]), /annotations\[2\]\.bbox: expected 4 numbers/);
    bad((d) => (d.annotations[2].segmentation = [[1, 2, 3]]), /annotations\[2\]\.segmentation\[0\]: polygon needs/);
    bad((d) => (d.annotations[2].segmentation = { size: [1, 1], counts: 'x' }), /RLE size \[1, 1\] differs/);
    bad((d) => (d.annotations[2].iscrowd = 2), /iscrowd: expected 0 or 1/);
    bad((d) => (d.images[0].width = '640'), /images\[0\]\.width: expected an integer, got string/);
    bad((d) => delete (d as Record<string, unknown>).images, /images: expected an array/);
    expect(() => parseJson('{"images": [', 'instances')).toThrow(AnnotationFormatError);
  });
});

describe('RefCOCOg refs: pickle and JSON', () => {
  it('the refs(umd).p pickle reads to exactly the JSON form', () => {
    const fromPickle = readReferPickle(bytes('readers/refcocog-umd/refs(umd).p'));
    const fromJson = readReferJson(readFileSync(join(fx, 'readers/refcocog-umd/refs(umd).json'), 'utf8'));
    expect(fromPickle).toHaveLength(15);
    expect(fromPickle).toEqual(fromJson);
    expect(unpickle(bytes('readers/refcocog-umd/refs(umd).p'))).toEqual(json('readers/refcocog-umd/refs(umd).json'));
    const r = fromPickle[0];
    expect(r).toMatchObject({ ref_id: 40373, ann_id: 251837, image_id: 122469, category_id: 1, split: 'train' });
    expect(r.sentences[1]).toEqual({ tokens: ['a', 'woman', 'wearing', 'black', 'dress'], raw: 'a woman wearing black dress', sent_id: 91982, sent: 'a woman wearing black dress' });
  });

  it('every ref resolves against the matching instances', () => {
    const refs = readReferPickle(bytes('readers/refcocog-umd/refs(umd).p'));
    const idx = new CocoIndex(readCocoInstances(json('readers/refcocog-umd/instances.json')));
    const ri = new ReferIndex(refs);
    ri.checkAgainst(idx.annotations, idx.images);
    for (const ref of refs) expect(idx.annotations.get(ref.ann_id)!.category_id).toBe(ref.category_id);
    expect(ri.split('train').length + ri.split('val').length + ri.split('test').length).toBe(15);
    expect(() => ri.checkAgainst(new Set<number>(), idx.images)).toThrow(AnnotationFormatError);
  });

  it('rejects malformed refs', () => {
    expect(() => readReferJson('[{"ref_id": 1}]')).toThrow(/refs.json\[0\]\.sentences: expected an array/);
    const dup = '[{"ref_id":1,"ann_id":1,"image_id":1,"category_id":1,"split":"train","sentences":[]},{"ref_id":1,"ann_id":2,"image_id":1,"category_id":1,"split":"val","sentences":[]}]';
    expect(() => readReferJson(dup)).toThrow(/duplicate ref id 1/);
  });
});

describe('safe pickle reader', () => {
  // pickle.dumps(data, protocol=p) in CPython 3.11 for the value below.
  const expected = [
    {
      ref_id: 1,
      sentences: [{ sent: 'the man', tokens: ['the', 'man'], sent_id: 3 }],
      box: [1.5, -2.25, 0.001, 10],
      flags: [true, false, null],
      big: 2 ** 40,
      neg: -70000,
      small: -3,
      u: 'caf\u00e9 \u2603',
      empty: [],
      nested: [[], {}],
      '5': 'five',
    },
  ];
  const pickles: Record<string, string> = {
    0: 'KGxwMAooZHAxClZyZWZfaWQKcDIKSTEKc1ZzZW50ZW5jZXMKcDMKKGxwNAooZHA1ClZzZW50CnA2ClZ0aGUgbWFuCnA3CnNWdG9rZW5zCnA4CihscDkKVnRoZQpwMTAKYVZtYW4KcDExCmFzVnNlbnRfaWQKcDEyCkkzCnNhc1Zib3gKcDEzCihGMS41CkYtMi4yNQpGMC4wMDEKRjEwLjAKdHAxNApzVmZsYWdzCnAxNQooSTAxCkkwMApOdHAxNgpzVmJpZwpwMTcKTDEwOTk1MTE2Mjc3NzZMCnNWbmVnCnAxOApJLTcwMDAwCnNWc21hbGwKcDE5CkktMwpzVnUKcDIwClZjYWbpIFx1MjYwMwpwMjEKc1ZlbXB0eQpwMjIKKHRzVm5lc3RlZApwMjMKKGxwMjQKKGxwMjUKYShkcDI2CmFzSTUKVmZpdmUKcDI3CnNhLg==',
    1: 'XXEAfXEBKFgGAAAAcmVmX2lkcQJLAVgJAAAAc2VudGVuY2VzcQNdcQR9cQUoWAQAAABzZW50cQZYBwAAAHRoZSBtYW5xB1gGAAAAdG9rZW5zcQhdcQkoWAMAAAB0aGVxClgDAAAAbWFucQtlWAcAAABzZW50X2lkcQxLA3VhWAMAAABib3hxDShHP/gAAAAAAABHwAIAAAAAAABHP1BiTdLxqfxHQCQAAAAAAAB0cQ5YBQAAAGZsYWdzcQ8oSTAxCkkwMApOdHEQWAMAAABiaWdxEUwxMDk5NTExNjI3Nzc2TApYAwAAAG5lZ3ESSpDu/v9YBQAAAHNtYWxscRNK/f///1gBAAAAdXEUWAkAAABjYWbDqSDimINxFVgFAAAAZW1wdHlxFilYBgAAAG5lc3RlZHEXXXEYKF1xGX1xGmVLBVgEAAAAZml2ZXEbdWEu',
    2: 'gAJdcQB9cQEoWAYAAAByZWZfaWRxAksBWAkAAABzZW50ZW5jZXNxA11xBH1xBShYBAAAAHNlbnRxBlgHAAAAdGhlIG1hbnEHWAYAAAB0b2tlbnNxCF1xCShYAwAAAHRoZXEKWAMAAABtYW5xC2VYBwAAAHNlbnRfaWRxDEsDdWFYAwAAAGJveHENKEc/+AAAAAAAAEfAAgAAAAAAAEc/UGJN0vGp/EdAJAAAAAAAAHRxDlgFAAAAZmxhZ3NxD4iJTodxEFgDAAAAYmlncRGKBgAAAAAAAVgDAAAAbmVncRJKkO7+/1gFAAAAc21hbGxxE0r9////WAEAAAB1cRRYCQAAAGNhZsOpIOKYg3EVWAUAAABlbXB0eXEWKVgGAAAAbmVzdGVkcRddcRgoXXEZfXEaZUsFWAQAAABmaXZlcRt1YS4=',
    4: 'gASV7wAAAAAAAABdlH2UKIwGcmVmX2lklEsBjAlzZW50ZW5jZXOUXZR9lCiMBHNlbnSUjAd0aGUgbWFulIwGdG9rZW5zlF2UKIwDdGhllIwDbWFulGWMB3NlbnRfaWSUSwN1YYwDYm94lChHP/gAAAAAAABHwAIAAAAAAABHP1BiTdLxqfxHQCQAAAAAAAB0lIwFZmxhZ3OUiIlOh5SMA2JpZ5SKBgAAAAAAAYwDbmVnlEqQ7v7/jAVzbWFsbJRK/f///4wBdZSMCWNhZsOpIOKYg5SMBWVtcHR5lCmMBm5lc3RlZJRdlChdlH2UZUsFjARmaXZllHVhLg==',
  };
  for (const [proto, data] of Object.entries(pickles)) {
    it(`protocol ${proto}: lists, dicts, tuples, str, int, long, float, bool, None, memo`, () => {
      expect(unpickle(b64(data))).toEqual(expected);
    });
  }

  it('Python 2 str opcodes (SHORT_BINSTRING, BINSTRING, STRING) decode as UTF-8 or latin-1', () => {
    expect(unpickle(Uint8Array.from([0x80, 2, 0x55, 3, 0x61, 0x62, 0x63, 0x2e]))).toBe('abc');
    expect(unpickle(Uint8Array.from([0x54, 2, 0, 0, 0, 0xc3, 0xa9, 0x2e]))).toBe('\u00e9');
    expect(unpickle(Uint8Array.from([0x55, 1, 0xe9, 0x2e]))).toBe('\u00e9'); // not UTF-8 -> latin-1
    expect(unpickle(new TextEncoder().encode("S'it\\'s\\n\\xe9'\n."))).toBe("it's\n\u00e9");
  });

  it('rejects code execution opcodes with a typed error', () => {
    const cases: [string, string][] = [
      ['Y29zCnN5c3RlbQooUydlY2hvIGhpJwp0Ui4=', 'GLOBAL'], // os.system('echo hi'), protocol 0
      ['gAJjX2NvZGVjcwplbmNvZGUKcQBYAwAAAGFiY3EBWAYAAABsYXRpbjFxAoZxA1JxBC4=', 'GLOBAL'], // bytes via _codecs.encode
      ['gASVFQAAAAAAAACMCF9fbWFpbl9flIwBQ5STlCmBlC4=', 'STACK_GLOBAL'], // a class instance, protocol 4
    ];
    for (const [data, opcode] of cases) {
      let err: unknown;
      try {
        unpickle(b64(data));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PickleUnsupportedOpcodeError);
      expect((err as PickleUnsupportedOpcodeError).opcode).toBe(opcode);
    }
    expect(() => unpickle(Uint8Array.from([0x4e, 0x52, 0x2e]))).toThrow(PickleUnsupportedOpcodeError); // REDUCE
    expect(() => unpickle(Uint8Array.from([0x7d, 0x4e, 0x62, 0x2e]))).toThrow(/BUILD/);
  });

  it('rejects malformed pickles', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x5d]))).toThrow(PickleError); // no STOP
    expect(() => unpickle(Uint8Array.from([0x58, 9, 0, 0, 0, 0x61]))).toThrow(/truncated/);
    expect(() => unpickle(Uint8Array.from([0x68, 3, 0x2e]))).toThrow(/memo key 3/);
    expect(() => unpickle(Uint8Array.from([0xff]))).toThrow(/unknown pickle opcode 0xff/);
    expect(() => unpickle(Uint8Array.from([0x4e, 0x4e, 0x2e]))).toThrow(/STOP with 2 items/);
    // A tuple as a dict key is refused (JSON-like output only).
    expect(() => unpickle(Uint8Array.from([0x7d, 0x29, 0x4e, 0x73, 0x2e]))).toThrow(/dict key/);
  });

  it('a "__proto__" key stays an own property', () => {
    // {'__proto__': 1} protocol 2
    const v = unpickle(Uint8Array.from([0x80, 2, 0x7d, 0x58, 9, 0, 0, 0, ...new TextEncoder().encode('__proto__'), 0x4b, 1, 0x73, 0x2e])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});

describe('LVIS', () => {
  const raw = json('readers/lvis/lvis_v0.5_val_subset.json') as { images: Record<string, unknown>[]; categories: Record<string, unknown>[] };
  it('v0.5: detected, COCO 2017 path from coco_url, category lists checked', () => {
    const ds = readLvis(raw);
    expect(ds.version).toBe('0.5');
    expect(ds.images).toHaveLength(29);
    const im = ds.images.find((i) => i.id === 266409)!;
    expect(im.file_name).toBe('COCO_val2014_000000266409.jpg');
    expect(im.coco_file).toBe('val2017/000000266409.jpg');
    expect(im.neg_category_ids).toEqual([284, 53, 754, 299, 654, 541, 566]);
    expect(ds.annotations.every((a) => a.iscrowd === 0)).toBe(true);
    expect(ds.categories.every((c) => c.synonyms.length > 0 && ['r', 'c', 'f'].includes(c.frequency!))).toBe(true);
    const idx = new CocoIndex(ds);
    expect(rleArea(idx.mask(ds.annotations[0]))).toBeGreaterThan(0);
  });

  it('v1: no file_name, path from coco_url', () => {
    const v1 = clone(raw);
    for (const im of v1.images) delete im.file_name;
    const ds = readLvis(v1);
    expect(ds.version).toBe('1');
    expect(ds.images[0].file_name).toBe(ds.images[0].coco_file);
    expect(ds.images[0].file_name).toMatch(/^val2017\/\d{12}\.jpg$/);
  });

  it('rejects unknown categories in neg_category_ids and bad frequencies', () => {
    const bad = clone(raw);
    bad.images[0].neg_category_ids = [999999];
    expect(() => readLvis(bad)).toThrow(/images\[0\]\.neg_category_ids: unknown category 999999/);
    const bad2 = clone(raw);
    bad2.categories[0].frequency = 'x';
    expect(() => readLvis(bad2)).toThrow(/frequency/);
  });
});

describe('PACO-LVIS', () => {
  const raw = json('readers/paco/paco_format_sample.json') as { annotations: Record<string, unknown>[] };
  it('objects with parts and attributes', () => {
    const ds = readPaco(raw);
    const idx = new PacoIndex(ds);
    const objs = idx.objects(7);
    expect(objs.map((o) => o.category)).toEqual(['mug', 'bottle']);
    expect(objs[0].attributes).toEqual(['blue', 'crochet']);
    expect(objs[0].parts.map((p) => [p.part, p.category, p.attributes])).toEqual([
      ['handle', 'mug:handle', ['blue']],
      ['body', 'mug:body', ['blue', 'crochet']],
    ]);
    expect(objs[1].parts.map((p) => p.part)).toEqual(['cap']);
    expect(idx.attributeType(46)).toBe('material');
    expect(idx.attributeType(56)).toBe('transparency');
    // Parts lie inside their object here (by construction of the sample): part & object = part.
    for (const o of objs) {
      const om = idx.objectMask(o);
      for (const p of o.parts) {
        const pm = idx.objectMask(p);
        expect(rleEquals(rleMerge([om, pm], true), pm)).toBe(true);
      }
    }
    expect(rleArea(idx.objectMask(objs[0]))).toBe(30);
  });

  it('rejects parts pointing at unknown objects, at parts, or across images', () => {
    const a = clone(raw);
    a.annotations[1].obj_ann_id = 999;
    expect(() => readPaco(a)).toThrow(/annotations\[1\]\.obj_ann_id: unknown object annotation 999/);
    const b = clone(raw);
    b.annotations[2].obj_ann_id = 101;
    expect(() => readPaco(b)).toThrow(/is itself a part/);
  });
});

describe('Visual Genome', () => {
  it('scene graphs: objects and relationships (id form)', () => {
    const graphs = readVgSceneGraphs(json('readers/visual-genome/scene_graphs.json'));
    expect(graphs.map((g) => g.image_id)).toEqual([1, 2, 3]);
    expect(graphs.map((g) => g.relationships.length)).toEqual([41, 23, 50]);
    const g = graphs[0];
    const byId = new Map(g.objects.map((o) => [o.object_id, o]));
    expect(byId.get(1058498)).toEqual({ object_id: 1058498, x: 421, y: 91, w: 79, h: 339, names: ['clock'], synsets: ['clock.n.01'], attributes: ['green', 'tall'] });
    for (const gr of graphs) for (const r of gr.relationships) expect(byId.has(r.subject_id) || gr !== g).toBe(true);
    const rel = g.relationships.find((r) => r.relationship_id === 15927)!;
    expect(rel).toMatchObject({ predicate: 'ON', subject_id: 5045, object_id: 5046 });
  });

  it('scene graphs: nested subject/object form; unknown ids are errors', () => {
    const g = readVgSceneGraph({
      image_id: 9,
      objects: [{ object_id: 1, x: 0, y: 0, w: 5, h: 5, names: ['man'] }],
      relationships: [{ relationship_id: 3, predicate: 'holding', subject: { object_id: 1, x: 0, y: 0, w: 5, h: 5, name: 'man' }, object: { object_id: 2, x: 1, y: 1, w: 2, h: 2, name: 'cup' } }],
    });
    expect(g.objects.map((o) => o.names[0])).toEqual(['man', 'cup']);
    expect(g.relationships[0]).toMatchObject({ subject_id: 1, object_id: 2, predicate: 'holding' });
    expect(() => readVgSceneGraph({ image_id: 1, objects: [], relationships: [{ relationship_id: 1, predicate: 'on', subject_id: 4, object_id: 5 }] })).toThrow(/subject_id: unknown object 4/);
  });

  it('regions and image data', () => {
    const regions = readVgRegions(json('readers/visual-genome/region_descriptions.json'));
    expect(new Set(regions.map((r) => r.image_id))).toEqual(new Set([1, 2, 3]));
    expect(regions[0]).toEqual({ region_id: 1382, image_id: 1, phrase: 'the clock is green in colour', x: 421, y: 57, width: 82, height: 139 });
    const images = readVgImageData(json('readers/visual-genome/image_data.json'));
    expect(images[0]).toEqual({ image_id: 1, width: 800, height: 600, url: 'https://cs.stanford.edu/people/rak248/VG_100K_2/1.jpg', coco_id: null, flickr_id: null });
  });

  it('GQA scene graphs in the VG shape', () => {
    const graphs = readGqaSceneGraphs(json('readers/visual-genome/gqa_scene_graph.json'));
    // JSON objects with integer-like keys enumerate in ascending key order in JavaScript.
    expect(graphs.map((g) => g.image_key)).toEqual(['2320168', '2353884', '2410046']);
    const g = graphs.find((x) => x.image_key === '2353884')!;
    const nose = g.objects.find((o) => o.object_id === 2716708)!;
    expect(nose).toMatchObject({ names: ['nose'], x: 370, y: 54, w: 7, h: 9 });
    expect(g.relationships.filter((r) => r.subject_id === 2716708).map((r) => [r.predicate, r.object_id])).toEqual([
      ['of', 2449847],
      ['to the right of', 2493560],
      ['to the left of', 2370325],
    ]);
  });
});

describe('PNG label maps', () => {
  const panoptic = json('masks/panoptic/panoptic_examples.json') as {
    annotations: { file_name: string; image_id: number; segments_info: { id: number; category_id: number; area: number; bbox: number[]; iscrowd: number }[] }[];
  };
  const det = json('masks/panoptic/panoptic_coco_detection_format.json') as {
    annotations: { image_id: number; category_id: number; area: number; bbox: number[]; segmentation: { size: [number, number]; counts: string } }[];
  };

  it('COCO panoptic PNGs decode to segments with exactly their area and bbox, and the detection-format RLE', () => {
    let matched = 0;
    for (const ann of panoptic.annotations) {
      const { masks, width, height } = readPanopticPng(bytes(`masks/panoptic/panoptic_examples/${ann.file_name}`));
      expect([...masks.keys()].sort((a, b) => a - b)).toEqual(ann.segments_info.map((s) => s.id).sort((a, b) => a - b));
      for (const s of ann.segments_info) {
        const m = masks.get(s.id)!;
        expect([m.h, m.w]).toEqual([height, width]);
        expect(rleArea(m)).toBe(s.area);
        expect(rleToBbox(m)).toEqual(s.bbox);
        const d = det.annotations.find((a) => a.image_id === ann.image_id && a.category_id === s.category_id && a.area === s.area);
        if (d) {
          expect(rleToString(m)).toBe(d.segmentation.counts);
          matched++;
        }
      }
    }
    expect(matched).toBe(50);
  });

  it('the 2-channel format (R = category id) gives per-class masks = union of that class\'s segments', () => {
    for (const ann of panoptic.annotations) {
      const png = decodePng(bytes(`masks/panoptic/panoptic_examples_2ch_format/${ann.file_name}`));
      const r = new Uint8Array(png.width * png.height);
      for (let i = 0; i < r.length; i++) r[i] = png.data[i * png.channels];
      const classes = labelMapToRles(r, png.height, png.width, (v) => (v === 0 ? null : v));
      const segs = readPanopticPng(bytes(`masks/panoptic/panoptic_examples/${ann.file_name}`)).masks;
      const cats = new Set(ann.segments_info.map((s) => s.category_id));
      expect(new Set(classes.keys())).toEqual(cats);
      for (const c of cats) {
        const union = rleMerge(ann.segments_info.filter((s) => s.category_id === c).map((s) => segs.get(s.id)!));
        expect(rleEquals(classes.get(c)!, union)).toBe(true);
      }
    }
  });

  /** A row-major label map and its PNG (gray 8-bit) for ADE20K / COCO-Stuff conventions. */
  function labelPng(values: number[][]): Uint8Array {
    const h = values.length;
    const w = values[0].length;
    return encodePng({ width: w, height: h, channels: 1, data: Uint8Array.from(values.flat()) });
  }

  it('ADE20K: value 0 ignored, class = value - 1', () => {
    const png = labelPng([
      [0, 1, 1, 5],
      [0, 1, 5, 5],
      [2, 2, 0, 0],
    ]);
    const { masks, width, height } = readAde20kPng(png);
    expect([width, height]).toEqual([4, 3]);
    expect([...masks.keys()]).toEqual([0, 1, 4]);
    const area = (m: RleMask): number => rleArea(m);
    expect([area(masks.get(0)!), area(masks.get(1)!), area(masks.get(4)!)]).toEqual([3, 2, 3]);
    expect(rleToBbox(masks.get(4)!)).toEqual([2, 0, 2, 2]);
  });

  it('COCO-Stuff: 255 ignored, class = value', () => {
    const { masks } = readCocoStuffPng(labelPng([[255, 0, 0, 181], [255, 255, 0, 181]]));
    expect([...masks.keys()]).toEqual([0, 181]);
    expect(rleArea(masks.get(0)!)).toBe(3);
    expect(rleToBbox(masks.get(181)!)).toEqual([3, 0, 1, 2]);
  });

  it('labelMapToRles equals per-class masks built pixel by pixel (random maps)', () => {
    let s = 3;
    const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let t = 0; t < 30; t++) {
      const h = 1 + Math.floor(rnd() * 12);
      const w = 1 + Math.floor(rnd() * 12);
      const vals = Array.from({ length: h * w }, () => Math.floor(rnd() * 4));
      const got = labelMapToRles(vals, h, w, (v) => (v === 3 ? null : v));
      for (let c = 0; c < 3; c++) {
        const counts: number[] = [];
        let v = 0;
        let run = 0;
        for (let x = 0; x < w; x++) {
          for (let y = 0; y < h; y++) {
            const b = vals[y * w + x] === c ? 1 : 0;
            if (b !== v) {
              counts.push(run);
              run = 0;
              v = b;
            }
            run++;
          }
        }
        counts.push(run);
        if (counts.length === 1) expect(got.has(c)).toBe(false);
        else expect(Array.from(got.get(c)!.counts)).toEqual(counts);
      }
    }
  });

  it('decodes palette, low bit depth, 16-bit and alpha PNGs (hand-built scanlines)', () => {
    // 3x2 palette image, 2 bits per pixel, indices [[0,1,2],[3,2,1]], filter 0: bytes 0b00011000, 0b11100100.
    const pal = handPng(3, 2, 3, 2, [0, 0b00011000, 0, 0b11100100], Uint8Array.from([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]));
    const p = decodePng(pal);
    expect(Array.from(p.data)).toEqual([0, 1, 2, 3, 2, 1]);
    expect(p.palette!.length).toBe(12);
    // 2x2 gray 16-bit with the Up filter on row 2: [[1000, 65535], [1001, 0]].
    const g16 = handPng(2, 2, 0, 16, [0, 0x03, 0xe8, 0xff, 0xff, 2, 0x00, 0x01, 0x01, 0x01]);
    expect(Array.from(decodePng(g16).data)).toEqual([1000, 65535, 1001, 0]);
    // 2x1 gray+alpha 8-bit with the Sub filter: pixels (10, 255), (30, 0) -> deltas (10, 255), (20, 1).
    const ga = handPng(2, 1, 4, 8, [1, 10, 255, 20, 1]);
    expect(Array.from(decodePng(ga).data)).toEqual([10, 255, 30, 0]);
    // 9x1 gray 1-bit: 101100111 -> bytes 0b10110011, 0b10000000.
    const g1 = handPng(9, 1, 0, 1, [0, 0b10110011, 0b10000000]);
    expect(Array.from(decodePng(g1).data)).toEqual([1, 0, 1, 1, 0, 0, 1, 1, 1]);
  });

  it('round-trips encodePng for gray, RGB and RGBA', () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const data = Uint8Array.from({ length: 5 * 3 * channels }, (_, i) => (i * 37) & 255);
      const d = decodePng(encodePng({ width: 5, height: 3, channels, data }));
      expect([d.width, d.height, d.channels, d.bitDepth]).toEqual([5, 3, channels, 8]);
      expect(Array.from(d.data)).toEqual(Array.from(data));
    }
  });

  it('rejects bad PNGs with PngFormatError', () => {
    const good = encodePng({ width: 2, height: 2, channels: 1, data: Uint8Array.of(1, 2, 3, 4) });
    expect(() => decodePng(Uint8Array.of(1, 2, 3))).toThrow(PngFormatError);
    const corrupt = good.slice();
    corrupt[20] ^= 0xff; // inside IHDR -> CRC mismatch
    expect(() => decodePng(corrupt)).toThrow(/CRC mismatch in IHDR/);
    expect(() => decodePng(good.slice(0, good.length - 12))).toThrow(/missing IEND/);
    const rgb = encodePng({ width: 1, height: 1, channels: 3, data: Uint8Array.of(1, 2, 3) });
    expect(() => readAde20kPng(rgb)).toThrow(AnnotationFormatError);
    expect(() => decodePng(handPng(1, 1, 0, 8, [0, 0], undefined, 1))).toThrow(/interlaced/);
  });

  it('bounds the inflated data by the claimed size and the claim by maxPixels (issue 17, point 4)', () => {
    // A 1x1 grey image whose IDAT inflates to 1 MiB: refused at 2 bytes instead of inflating it all.
    expect(() => decodePng(handPng(1, 1, 0, 8, new Array<number>(1 << 20).fill(0)))).toThrow('more image data than a 1 x 1 image holds');
    expect(() => decodePng(handPng(20000, 20000, 0, 8, [0]))).toThrow('20000 x 20000 pixels is over the limit of 67108864: pass { maxPixels } if the image is genuine');
    expect(() => decodePng(handPng(3, 3, 0, 8, new Array<number>(12).fill(0)), { maxPixels: 8 })).toThrow(/over the limit of 8/);
    expect(() => decodePng(handPng(3, 3, 0, 8, [0, 1, 2, 3]))).toThrow('image data too short');
  });
});

/** Builds a PNG from raw filtered scanlines (test helper, independent of encodePng). */
function handPng(w: number, h: number, colorType: number, depth: number, raw: number[], palette?: Uint8Array, interlace = 0): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Uint8Array): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(data)]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  ihdr[12] = interlace;
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
      chunk('IHDR', ihdr),
      ...(palette ? [chunk('PLTE', palette)] : []),
      chunk('IDAT', deflateSync(Uint8Array.from(raw))),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}
