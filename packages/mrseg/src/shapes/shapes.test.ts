import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseConversation } from '../conversation/parse.ts';
import { RELATION_PHRASES, RELATIONS } from '../generators/relations.ts';
import { decodeRle, rleFromCoco } from '../masks/index.ts';
import { CLASSES, COLOR_NAMES } from './classes.ts';
import { CONVERSATION_TYPES, VAL_SEED, generateShapesSample, writeShapesDataset, type ShapesSample } from './dataset.ts';
import { crc32, encodePngRgb } from './png.ts';
import { BACKGROUND_KINDS, PREDICATES } from './scene.ts';

const sample = (i: number, seed = 5): ShapesSample => generateShapesSample(i, 'train', seed, { nextAnn: 1, nextRel: 1 });
const N = 80;
const samples = Array.from({ length: N }, (_, i) => sample(i));

function decodePng(buf: Buffer): { w: number; h: number; rgb: Uint8Array } {
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let p = 8;
  let w = 0;
  let h = 0;
  const idat: Buffer[] = [];
  while (p < buf.length) {
    const len = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    expect(buf.readUInt32BE(p + 8 + len)).toBe(crc32(buf, p + 4, p + 8 + len));
    if (type === 'IHDR') {
      w = buf.readUInt32BE(p + 8);
      h = buf.readUInt32BE(p + 12);
      expect([buf[p + 16], buf[p + 17]]).toEqual([8, 2]);
    } else if (type === 'IDAT') idat.push(buf.subarray(p + 8, p + 8 + len));
    p += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    expect(raw[y * (w * 3 + 1)]).toBe(0);
    rgb.set(raw.subarray(y * (w * 3 + 1) + 1, (y + 1) * (w * 3 + 1)), y * w * 3);
  }
  return { w, h, rgb };
}

function bitsOf(s: ShapesSample, annId: number): Uint8Array {
  const a = s.annotations.annotations.find((x) => x.id === annId)!;
  const m = decodeRle(rleFromCoco(a.segmentation));
  const { width: w, height: h } = s.rendered;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = m.get(x, y) ? 1 : 0;
  return out;
}

describe('MRSeg-Shapes', () => {
  it('is deterministic per seed and varies with the seed and the index', () => {
    const again = sample(3);
    expect(Buffer.from(again.rendered.rgb).equals(Buffer.from(samples[3].rendered.rgb))).toBe(true);
    expect(again.annotations.annotations).toEqual(samples[3].annotations.annotations);
    expect(again.conversations).toEqual(samples[3].conversations);
    expect(Buffer.from(sample(3, 6).rendered.rgb).equals(Buffer.from(samples[3].rendered.rgb))).toBe(false);
    const layouts = new Set(samples.map((s) => Buffer.from(s.rendered.labels.buffer).toString('base64')));
    expect(layouts.size).toBe(N);
  });

  it('covers every class, colour, background and planted relation, with pairs and parts', () => {
    const classes = new Set<string>();
    const colors = new Set<string>();
    const backgrounds = new Set<string>();
    const predicates = new Set<string>();
    let pairs = 0;
    let parts = 0;
    for (const s of samples) {
      for (const o of s.scene.objects) {
        classes.add(o.cls.name);
        colors.add(o.color);
      }
      backgrounds.add(s.scene.background.kind);
      for (const r of s.annotations.relationships) predicates.add(r.predicate);
      pairs += s.conversations.hard.length / 2;
      parts += s.annotations.annotations.filter((a) => a.kind === 'part').length;
    }
    expect([...classes].sort()).toEqual(CLASSES.map((c) => c.name).sort());
    expect([...colors].sort()).toEqual([...COLOR_NAMES].sort());
    expect([...backgrounds].sort()).toEqual([...BACKGROUND_KINDS].sort());
    expect([...predicates].sort()).toEqual([...PREDICATES].sort());
    expect(pairs).toBeGreaterThan(N / 3);
    expect(parts).toBeGreaterThan(N);
  });

  it('RLE masks decode to exactly the pixels each object and part shows, and colours agree', () => {
    for (const s of samples.slice(0, 25)) {
      const { labels, slots, rgb, width: w } = s.rendered;
      const jitter = s.scene.background.kind === 'noise' ? 28 : 6;
      const anns = s.annotations.annotations;
      const objIndex = new Map<number, number>();
      let k = 0;
      s.scene.objects.forEach((_, oi) => {
        const want = new Uint8Array(labels.length);
        labels.forEach((l, i) => (want[i] = l >= 0 && slots[l].object === oi ? 1 : 0));
        const area = want.reduce((a, b) => a + b, 0);
        if (area < 16) return;
        const ann = anns.filter((a) => a.kind === 'object')[k++];
        objIndex.set(ann.id, oi);
        expect(ann.area).toBe(area);
        expect(Buffer.from(bitsOf(s, ann.id)).equals(Buffer.from(want))).toBe(true);
      });
      for (const a of anns.filter((x) => x.kind === 'part')) {
        const oi = objIndex.get(a.obj_ann_id!)!;
        const part = s.scene.objects[oi].parts.find((p) => p.name === a.part_name)!;
        const bits = bitsOf(s, a.id);
        let n = 0;
        bits.forEach((b, i) => {
          if (!b) return;
          n++;
          if (!part.main) for (let c = 0; c < 3; c++) expect(Math.abs(rgb[i * 3 + c] - part.color[c])).toBeLessThanOrEqual(jitter);
          expect(slots[labels[i]].object).toBe(oi);
        });
        expect(n).toBe(a.area);
        const [bx, by, bw, bh] = a.bbox;
        const xs: number[] = [];
        bits.forEach((b, i) => b && xs.push(i % w));
        expect(Math.min(...xs)).toBe(bx);
        expect(Math.max(...xs) + 1).toBe(bx + bw);
        expect(by).toBeGreaterThanOrEqual(0);
        expect(bh).toBeGreaterThan(0);
      }
      // Semantic regions are the union of their class's object masks.
      for (const a of anns.filter((x) => x.kind === 'semantic')) {
        const members = anns.filter((o) => o.kind === 'object' && o.category_id === a.category_id);
        expect(a.iscrowd).toBe(1);
        expect(a.area).toBe(members.reduce((t, o) => t + o.area, 0));
      }
    }
  });

  it('planted relations hold on the masks', () => {
    for (const s of samples) {
      const { width: w, height: h } = s.rendered;
      for (const r of s.annotations.relationships) {
        const A = bitsOf(s, r.subject_id);
        const B = bitsOf(s, r.object_id);
        const a = s.annotations.annotations.find((x) => x.id === r.subject_id)!.bbox;
        const b = s.annotations.annotations.find((x) => x.id === r.object_id)!.bbox;
        if (r.predicate === 'touching' || r.predicate === 'on top of') {
          let touch = false;
          for (let y = 0; y < h && !touch; y++) {
            for (let x = 0; x < w && !touch; x++) {
              if (!A[y * w + x]) continue;
              touch = (x + 1 < w && B[y * w + x + 1] === 1) || (x > 0 && B[y * w + x - 1] === 1) ||
                (y + 1 < h && B[(y + 1) * w + x] === 1) || (y > 0 && B[(y - 1) * w + x] === 1);
            }
          }
          expect(touch).toBe(true);
          if (r.predicate === 'on top of') expect(a[1] + a[3]).toBe(b[1]);
        } else if (r.predicate === 'inside') {
          expect(a[0]).toBeGreaterThan(b[0]);
          expect(a[1]).toBeGreaterThan(b[1]);
          expect(a[0] + a[2]).toBeLessThan(b[0] + b[2]);
          expect(a[1] + a[3]).toBeLessThan(b[1] + b[3]);
        } else if (r.predicate === 'in front of' || r.predicate === 'behind') {
          const ix = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
          const iy = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
          expect(ix > 0 && iy > 0).toBe(true);
        } else {
          expect(r.predicate).toBe('connected to');
        }
      }
    }
  });

  it('conversations parse, reference only annotated masks, and use all ten positional relations', () => {
    const phrases = new Set<string>();
    for (const s of samples) {
      const ids = new Set(s.annotations.annotations.map((a) => a.id));
      for (const t of CONVERSATION_TYPES) {
        for (const c of s.conversations[t]) {
          const p = parseConversation(c);
          expect(p.image).toBe(s.image.file_name);
          for (const r of p.rounds) {
            expect(ids.has(r.target as number)).toBe(true);
            for (const ref of r.refs) expect(ids.has(ref.mask as number)).toBe(true);
            if (t === 'positional') for (const rel of RELATIONS) if (r.text.includes(` ${RELATION_PHRASES[rel]} `)) phrases.add(rel);
          }
        }
      }
    }
    expect([...phrases].sort()).toEqual([...RELATIONS].sort());
  });

  it('writes PNGs, COCO JSON and conversations; the validation split ignores the training seed', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'shapes-a-')), mkdtempSync(join(tmpdir(), 'shapes-b-'))];
    try {
      const sums = [];
      for (const [k, out] of dirs.entries()) sums.push(await writeShapesDataset({ out, n: 4, seed: k + 1, valCount: 3 }));
      const read = (d: string, f: string): string => readFileSync(join(d, f), 'utf8');
      expect(read(dirs[0], 'annotations/shapes_val.json')).toBe(read(dirs[1], 'annotations/shapes_val.json'));
      expect(read(dirs[0], 'conversations/val/positional.json')).toBe(read(dirs[1], 'conversations/val/positional.json'));
      expect(read(dirs[0], 'annotations/shapes_train.json')).not.toBe(read(dirs[1], 'annotations/shapes_train.json'));
      expect(JSON.parse(read(dirs[0], 'annotations/shapes_val.json')).info.seed).toBe(VAL_SEED);
      expect(readdirSync(join(dirs[0], 'images/train')).sort()).toEqual(['000001.png', '000002.png', '000003.png', '000004.png']);
      expect(readdirSync(join(dirs[0], 'conversations/train')).sort()).toEqual(CONVERSATION_TYPES.map((t) => `${t}.json`).sort());
      const coco = JSON.parse(read(dirs[0], 'annotations/shapes_train.json'));
      expect(coco.images).toHaveLength(4);
      expect(coco.annotations.length).toBe(sums[0].train.annotations);
      const again = sample(1, 1);
      const png = decodePng(readFileSync(join(dirs[0], 'images/train/000002.png')));
      expect([png.w, png.h]).toEqual([again.rendered.width, again.rendered.height]);
      expect(Buffer.from(png.rgb).equals(Buffer.from(again.rendered.rgb))).toBe(true);
      const conv = JSON.parse(read(dirs[0], 'conversations/train/positional.json'));
      expect(conv).toHaveLength(sums[0].train.conversations.positional);
      expect(JSON.parse(read(dirs[0], 'conversations/val/hard.json')).every((c: { conv_id: string }) => c.conv_id.includes('hard'))).toBe(true);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it('PNG encoder rejects a wrong buffer size and round-trips pixels', () => {
    expect(() => encodePngRgb(new Uint8Array(5), 2, 2)).toThrow(RangeError);
    const rgb = Uint8Array.from({ length: 3 * 4 * 3 }, (_, i) => (i * 37) % 256);
    const d = decodePng(encodePngRgb(rgb, 4, 3));
    expect([d.w, d.h]).toEqual([4, 3]);
    expect([...d.rgb]).toEqual([...rgb]);
  });
});
