/* eslint-disable @typescript-eslint/no-explicit-any -- a one-off converter of untyped third-party JSON */
/**
 * Builds the mask / reader test fixtures from ../shared/data (developer tool; tests read only the copies).
 *
 *   npx tsx --conditions=@segllm/source packages/mrseg/scripts/make-mask-fixtures.ts [--ref <pycocotools driver>]
 *
 * Trims large JSON to subsets and copies licence notes. With --ref (see scripts/pycocotools-ref/README.md) it also
 * writes the pycocotools golden strings for every polygon object in the fixtures plus seeded random polygons.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const shared = join(pkg, '../../../shared/data');
const out = join(pkg, 'test/fixtures');

const readJson = (p: string): any => JSON.parse(readFileSync(p, 'utf8'));
const writeJson = (p: string, v: unknown): void => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, JSON.stringify(v) + '\n');
};
const copy = (from: string, to: string): void => {
  mkdirSync(dirname(join(out, to)), { recursive: true });
  copyFileSync(join(shared, from), join(out, to));
};

// --- COCO panoptic sample: the 50 RLE segments, byte copy.
copy('coco-panopticapi-sample/panoptic_coco_detection_format.json', 'masks/panoptic/panoptic_coco_detection_format.json');
copy('coco-panopticapi-sample/UPSTREAM-license.txt', 'masks/panoptic/UPSTREAM-license.txt');
copy('coco-panopticapi-sample/LICENSE-NOTES.md', 'masks/panoptic/LICENSE-NOTES.upstream.md');
copy('coco-panopticapi-sample/panoptic_examples.json', 'masks/panoptic/panoptic_examples.json');
for (const id of ['000000142238', '000000439180']) {
  copy(`coco-panopticapi-sample/panoptic_examples/${id}.png`, `masks/panoptic/panoptic_examples/${id}.png`);
  copy(`coco-panopticapi-sample/panoptic_examples_2ch_format/${id}.png`, `masks/panoptic/panoptic_examples_2ch_format/${id}.png`);
}

// --- Two cats (COCO 39769): 6 polygon annotations, byte copy.
copy('coco-transformers-39769/coco_annotations.txt', 'masks/cats/coco_annotations.json');
copy('coco-transformers-39769/LICENSE-NOTES.md', 'masks/cats/LICENSE-NOTES.upstream.md');

// --- cocoapi fake segm results: first 120 records.
const results = readJson(join(shared, 'cocoapi-results/instances_val2014_fakesegm100_results.json'));
writeJson(join(out, 'masks/cocoapi-results/fakesegm_results_120.json'), results.slice(0, 120));
copy('cocoapi-results/UPSTREAM-license.txt', 'masks/cocoapi-results/UPSTREAM-license.txt');
copy('cocoapi-results/LICENSE-NOTES.md', 'masks/cocoapi-results/LICENSE-NOTES.upstream.md');

// --- LVIS v0.5 val subset: the first 25 images plus the 4 images whose annotations carry the rotated-bbox quirk.
const lvis = readJson(join(shared, 'lvis-api-sample/lvis_val_100.json'));
const quirkImages = new Set([464824, 179898, 443426, 196141]);
const keepImages = new Set<number>(lvis.images.slice(0, 25).map((i: any) => i.id as number));
for (const id of quirkImages) keepImages.add(id);
const lvisAnns = lvis.annotations.filter((a: any) => keepImages.has(a.image_id));
const usedCats = new Set<number>(lvisAnns.map((a: any) => a.category_id as number));
for (const im of lvis.images) if (keepImages.has(im.id)) for (const c of im.neg_category_ids) usedCats.add(c);
writeJson(join(out, 'readers/lvis/lvis_v0.5_val_subset.json'), {
  info: lvis.info,
  licenses: lvis.licenses,
  images: lvis.images.filter((i: any) => keepImages.has(i.id)),
  annotations: lvisAnns,
  categories: lvis.categories.filter((c: any) => usedCats.has(c.id)),
});
copy('lvis-api-sample/UPSTREAM-LICENSE', 'readers/lvis/UPSTREAM-LICENSE');
copy('lvis-api-sample/LICENSE-NOTES.md', 'readers/lvis/LICENSE-NOTES.upstream.md');

// --- RefCOCOg (UMD) sample: byte copies (small).
for (const f of ['instances.json', 'refs(umd).json', 'refs(umd).p', 'UPSTREAM-LICENSE', 'LICENSE-NOTES.md']) {
  copy(`refcocog-umd-sample/${f}`, `readers/refcocog-umd/${f === 'LICENSE-NOTES.md' ? 'LICENSE-NOTES.upstream.md' : f}`);
}

// --- Visual Genome: scene graphs for images 1-3, regions and image data for the same images, GQA graphs.
const vg = readJson(join(shared, 'visual-genome-sample/vg10_scene_graphs.json'));
const vgKeep = new Set([1, 2, 3]);
writeJson(join(out, 'readers/visual-genome/scene_graphs.json'), vg.filter((g: any) => vgKeep.has(g.image_id)));
const regions = readJson(join(shared, 'visual-genome-sample/vg_regions.json'));
writeJson(
  join(out, 'readers/visual-genome/region_descriptions.json'),
  regions.filter((r: any) => vgKeep.has(r.id ?? r.regions?.[0]?.image_id)),
);
const imageData = readJson(join(shared, 'visual-genome-sample/vg_image_data.json'));
writeJson(
  join(out, 'readers/visual-genome/image_data.json'),
  imageData.filter((i: any) => vgKeep.has(i.image_id ?? i.id)),
);
copy('visual-genome-sample/gqa_scene_graph.json', 'readers/visual-genome/gqa_scene_graph.json');
copy('visual-genome-sample/UPSTREAM-LICENSE-kgtk', 'readers/visual-genome/UPSTREAM-LICENSE-kgtk');
copy('visual-genome-sample/UPSTREAM-LICENSE-emma', 'readers/visual-genome/UPSTREAM-LICENSE-emma');
copy('visual-genome-sample/LICENSE-NOTES.md', 'readers/visual-genome/LICENSE-NOTES.upstream.md');

// --- Golden pycocotools strings (needs the compiled reference driver).
const refIdx = process.argv.indexOf('--ref');
if (refIdx > 0) {
  const ref = process.argv[refIdx + 1];
  interface Case {
    source: string;
    id: number | string;
    h: number;
    w: number;
    polygons?: number[][];
    bbox?: number[];
  }
  const cases: Case[] = [];
  const lvisImgs = new Map<number, any>(lvis.images.map((i: any): [number, any] => [i.id, i]));
  for (const a of lvisAnns) {
    const im = lvisImgs.get(a.image_id);
    cases.push({ source: 'lvis', id: a.id, h: im.height, w: im.width, polygons: a.segmentation });
  }
  const rc = readJson(join(shared, 'refcocog-umd-sample/instances.json'));
  const rcImgs = new Map<number, any>(rc.images.map((i: any): [number, any] => [i.id, i]));
  for (const a of rc.annotations) {
    const im = rcImgs.get(a.image_id);
    cases.push({ source: 'refcocog', id: a.id, h: im.height, w: im.width, polygons: a.segmentation });
    cases.push({ source: 'refcocog-bbox', id: a.id, h: im.height, w: im.width, bbox: a.bbox });
  }
  const cats = readJson(join(shared, 'coco-transformers-39769/coco_annotations.txt'));
  for (const a of cats) cases.push({ source: 'cats', id: a.id, h: 480, w: 640, polygons: a.segmentation });
  // Seeded random polygons: sub-pixel, integer and half-integer vertices, repeated points, out-of-frame parts.
  let s = 20240601;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const q = (v: number): number => Math.round(v * 100) / 100;
  for (let i = 0; i < 300; i++) {
    const h = 1 + Math.floor(rnd() * 40);
    const w = 1 + Math.floor(rnd() * 40);
    const polygons: number[][] = [];
    const np = 1 + Math.floor(rnd() * 3);
    for (let p = 0; p < np; p++) {
      const k = 3 + Math.floor(rnd() * 7);
      const xy: number[] = [];
      for (let j = 0; j < k; j++) {
        let x = q(rnd() * (w + 8) - 4);
        let y = q(rnd() * (h + 8) - 4);
        if (rnd() < 0.25) [x, y] = [Math.round(x), Math.round(y)];
        else if (rnd() < 0.2) [x, y] = [Math.round(x * 2) / 2, Math.round(y * 2) / 2];
        if (rnd() < 0.1 && j > 0) [x, y] = [xy[xy.length - 2], xy[xy.length - 1]];
        xy.push(x, y);
      }
      polygons.push(xy);
    }
    cases.push({ source: 'random', id: i, h, w, polygons });
    if (i % 3 === 0) cases.push({ source: 'random-bbox', id: i, h, w, bbox: [q(rnd() * w - 2), q(rnd() * h - 2), q(rnd() * w), q(rnd() * h)] });
  }
  const input =
    cases
      .map((c) =>
        c.polygons
          ? `P ${c.h} ${c.w} ${c.polygons.length} ${c.polygons.map((p) => `${p.length} ${p.join(' ')}`).join(' ')}`
          : `B ${c.h} ${c.w} ${c.bbox!.join(' ')}`,
      )
      .join('\n') + '\n';
  const lines = execFileSync(ref, { input, maxBuffer: 1 << 28 }).toString().trim().split('\n');
  const golden = cases.map((c, i) => {
    const [counts, area, ...bb] = lines[i].split(' ');
    const inline = c.source === 'random' || c.source === 'random-bbox' || c.source === 'refcocog-bbox';
    return {
      source: c.source,
      id: c.id,
      size: [c.h, c.w],
      ...(inline ? (c.polygons ? { polygons: c.polygons } : { bbox: c.bbox }) : {}),
      counts,
      area: Number(area),
      maskBbox: bb.map(Number),
    };
  });
  writeJson(join(out, 'masks/golden/pycocotools-polygons.json'), golden);
  console.log(`golden: ${golden.length} objects`);
}
console.log('fixtures written to', out);
