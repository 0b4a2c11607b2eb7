/**
 * Mask throughput (masks/s, or pairs/s for IoU): our RLE / bit-packed implementation against a straightforward
 * byte-per-pixel one, on the real fixtures (LVIS / RefCOCOg / COCO polygons, cocoapi and panoptic RLE strings).
 * Importing this module runs the benchmark and prints a table; run it alone with
 * `npx tsx --conditions=@segllm/source packages/mrseg/bench/masks.bench.ts` or via bench/index.ts.
 */
import { readFileSync } from 'node:fs';
import {
  BitMask,
  polygonsToRle,
  rleArea,
  rleFromString,
  rleIntersectionUnion,
  rleToBbox,
  type RleMask,
} from '@segllm/mrseg';

const FIX = new URL('../test/fixtures/', import.meta.url);
const json = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIX), 'utf8')) as T;

interface PolyObj {
  h: number;
  w: number;
  polys: number[][];
}
interface RleStr {
  h: number;
  w: number;
  counts: string;
  image: number;
}

// ---- Inputs -------------------------------------------------------------------------------------------------
const polyObjs: PolyObj[] = [];
for (const file of ['readers/lvis/lvis_v0.5_val_subset.json', 'readers/refcocog-umd/instances.json']) {
  const ds = json<{ images: { id: number; height: number; width: number }[]; annotations: { image_id: number; segmentation: number[][] }[] }>(file);
  const ims = new Map(ds.images.map((i) => [i.id, i]));
  for (const a of ds.annotations) {
    const im = ims.get(a.image_id)!;
    polyObjs.push({ h: im.height, w: im.width, polys: a.segmentation });
  }
}
const rleStrs: RleStr[] = [];
for (const r of json<{ image_id: number; segmentation: { size: [number, number]; counts: string } }[]>('masks/cocoapi-results/fakesegm_results_120.json')) {
  rleStrs.push({ h: r.segmentation.size[0], w: r.segmentation.size[1], counts: r.segmentation.counts, image: r.image_id });
}
for (const a of json<{ annotations: { image_id: number; segmentation: { size: [number, number]; counts: string } }[] }>('masks/panoptic/panoptic_coco_detection_format.json').annotations) {
  rleStrs.push({ h: a.segmentation.size[0], w: a.segmentation.size[1], counts: a.segmentation.counts, image: a.image_id });
}
const rles: RleMask[] = rleStrs.map((r) => rleFromString(r.counts, r.h, r.w));
const pairs: [number, number][] = [];
for (let i = 0; i < rleStrs.length; i++) {
  for (let j = i; j < rleStrs.length; j++) if (rleStrs[i].image === rleStrs[j].image) pairs.push([i, j]);
}

// ---- Straightforward byte-mask baselines -----------------------------------------------------------------------
/** Decodes counts to a byte per pixel (column-major), as pycocotools `decode` does. */
function bytesFromRle(r: RleMask): Uint8Array {
  const out = new Uint8Array(r.h * r.w);
  let p = 0;
  for (let j = 0; j < r.counts.length; j++) {
    const e = p + r.counts[j];
    if (j & 1) for (let k = p; k < e; k++) out[k] = 1;
    p = e;
  }
  return out;
}

/** Even-odd scanline fill at pixel centres into a byte mask, then run-length encode (not pycocotools-exact). */
function naivePolygonsToRle(o: PolyObj): RleMask {
  const { h, w } = o;
  const m = new Uint8Array(h * w); // column-major
  for (const p of o.polys) {
    const k = p.length >> 1;
    const xs: number[] = [];
    for (let y = 0; y < h; y++) {
      const cy = y + 0.5;
      xs.length = 0;
      for (let i = 0; i < k; i++) {
        const x0 = p[2 * i];
        const y0 = p[2 * i + 1];
        const x1 = p[2 * ((i + 1) % k)];
        const y1 = p[2 * ((i + 1) % k) + 1];
        if (y0 <= cy !== y1 <= cy) xs.push(x0 + ((cy - y0) * (x1 - x0)) / (y1 - y0));
      }
      xs.sort((a, b) => a - b);
      for (let i = 0; i + 1 < xs.length; i += 2) {
        const a = Math.max(0, Math.ceil(xs[i] - 0.5));
        const b = Math.min(w - 1, Math.floor(xs[i + 1] - 0.5));
        for (let x = a; x <= b; x++) m[x * h + y] ^= 1;
      }
    }
  }
  const counts: number[] = [];
  let v = 0;
  let run = 0;
  for (let i = 0; i < m.length; i++) {
    if (m[i] !== v) {
      counts.push(run);
      run = 0;
      v = m[i];
    }
    run++;
  }
  counts.push(run);
  return { h, w, counts: Uint32Array.from(counts) };
}

function naiveAreaBbox(b: Uint8Array, h: number, w: number): number {
  let a = 0;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      if (b[x * h + y]) {
        a++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return a + x0 + y0 + x1 + y1;
}

function naiveIou(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  let u = 0;
  for (let k = 0; k < a.length; k++) {
    i += a[k] & b[k];
    u += a[k] | b[k];
  }
  return u ? i / u : 0;
}

// ---- Timing ----------------------------------------------------------------------------------------------------
let sink = 0;
/** Items per second of `pass` (one pass processes `items` items), measured for at least `minMs`. */
function rate(items: number, pass: () => void, minMs = 300): number {
  pass();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    pass();
    n++;
  }
  return (n * items) / ((performance.now() - t0) / 1000);
}

interface Row {
  op: string;
  unit: string;
  ours: number;
  naive: number;
}
const rows: Row[] = [];

rows.push({
  op: 'polygon -> RLE (pycocotools-exact vs scanline byte fill)',
  unit: 'masks/s',
  ours: rate(polyObjs.length, () => {
    for (const o of polyObjs) sink += polygonsToRle(o.polys, o.h, o.w).counts.length;
  }),
  naive: rate(polyObjs.length, () => {
    for (const o of polyObjs) sink += naivePolygonsToRle(o).counts.length;
  }),
});
rows.push({
  op: 'RLE string -> counts',
  unit: 'masks/s',
  ours: rate(rleStrs.length, () => {
    for (const r of rleStrs) sink += rleFromString(r.counts, r.h, r.w).counts.length;
  }),
  naive: NaN,
});
rows.push({
  op: 'RLE -> mask (BitMask vs byte mask)',
  unit: 'masks/s',
  ours: rate(rles.length, () => {
    for (const r of rles) sink += BitMask.fromRle(r).words.length;
  }),
  naive: rate(rles.length, () => {
    for (const r of rles) sink += bytesFromRle(r).length;
  }),
});
rows.push({
  op: 'area + bbox (on RLE vs decode + scan)',
  unit: 'masks/s',
  ours: rate(rles.length, () => {
    for (const r of rles) sink += rleArea(r) + rleToBbox(r)[0];
  }),
  naive: rate(rles.length, () => {
    for (const r of rles) sink += naiveAreaBbox(bytesFromRle(r), r.h, r.w);
  }),
});
rows.push({
  op: `IoU of a pair (on RLE vs decode both + count), ${pairs.length} pairs`,
  unit: 'pairs/s',
  ours: rate(pairs.length, () => {
    for (const [i, j] of pairs) sink += rleIntersectionUnion(rles[i], rles[j]).intersection;
  }),
  naive: rate(pairs.length, () => {
    for (const [i, j] of pairs) sink += naiveIou(bytesFromRle(rles[i]), bytesFromRle(rles[j]));
  }),
});
rows.push({
  op: 'IoU from strings (decode strings + IoU, the metrics path)',
  unit: 'pairs/s',
  ours: rate(pairs.length, () => {
    for (const [i, j] of pairs) {
      const a = rleStrs[i];
      const b = rleStrs[j];
      sink += rleIntersectionUnion(rleFromString(a.counts, a.h, a.w), rleFromString(b.counts, b.h, b.w)).union;
    }
  }),
  naive: rate(pairs.length, () => {
    for (const [i, j] of pairs) {
      const a = rleStrs[i];
      const b = rleStrs[j];
      sink += naiveIou(bytesFromRle(rleFromString(a.counts, a.h, a.w)), bytesFromRle(rleFromString(b.counts, b.h, b.w)));
    }
  }),
});

const fmt = (v: number): string => (Number.isNaN(v) ? '-' : v >= 1e5 ? v.toExponential(2) : v.toFixed(0));
console.log(`\n# masks (packages/mrseg/bench/masks.bench.ts): ${polyObjs.length} polygon objects, ${rleStrs.length} RLE masks of ~640x480, Node ${process.version}`);
console.log(`${'operation'.padEnd(66)} ${'unit'.padEnd(8)} ${'ours'.padStart(10)} ${'byte-mask'.padStart(10)} ${'speedup'.padStart(8)}`);
for (const r of rows) {
  const sp = Number.isNaN(r.naive) ? '-' : `${(r.ours / r.naive).toFixed(1)}x`;
  console.log(`${r.op.padEnd(66)} ${r.unit.padEnd(8)} ${fmt(r.ours).padStart(10)} ${fmt(r.naive).padStart(10)} ${sp.padStart(8)}`);
}
if (sink === -1) console.log('');
