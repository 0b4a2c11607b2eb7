/**
 * Training samples: the official label arithmetic on the golden prompts, MRSeg-Shapes conversations end to end
 * (a tiny dataset written by mrseg's writeShapesDataset into a temp dir), the hard split's round-1 encodings, the
 * sampler's determinism and resume, and every bad input as a counted skip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clipPreprocess, newImage, paste, readImageFile, resizeMask } from '@segllm/models';
import { CocoIndex, decodeRle, formatConversation, readCocoInstances, writeShapesDataset } from '@segllm/mrseg';
import { SEGLLM_TEMPLATE, bundledTokenizer, groundTruthBox, groundTruthMaskPixels, renderConversation, tinySegLLMConfig } from '@segllm/core';
import { IGNORE_INDEX, TrainDataError, TrainDataset, TrainSampler, conversationMessages, labelPrompt, renderPrompt } from '@segllm/core/train';
import type { TrainDatasetOptions, TrainSample } from '@segllm/core/train';

const tok = await bundledTokenizer();
const VIDEO = 32006;
const SEG = 32009;
const SPACE = 29871;
const EOS = 2;
const FIX = new URL('../../models/test/fixtures/tokenizer/', import.meta.url);
const gold = JSON.parse(readFileSync(new URL('tokenize.json', FIX), 'utf8')) as { prompts: Record<string, string>; input_ids: Record<string, number[]> };

const supervised = (labels: Int32Array) => [...labels.keys()].filter((i) => labels[i] !== IGNORE_INDEX);

/** What the arithmetic supervises on these prompts: per round the '▁' before `<seg>` and `<seg>`, and the last `</s>`. */
function expectedSupervised(ids: Int32Array): number[] {
  const segs = [...ids.keys()].filter((i) => ids[i] === SEG);
  return [...segs.flatMap((p) => [p - 1, p]), ids.length - 1];
}

describe('official label arithmetic', () => {
  it.each(['round1', 'round2_ref', 'round3_noref'])('%s: golden ids, balanced, each reply supervised', (name) => {
    const { ids, labels, mismatch } = labelPrompt(gold.prompts[name], tok);
    expect([...ids]).toEqual(gold.input_ids[name]);
    expect(mismatch).toBe(false);
    const sup = supervised(labels);
    expect(sup).toEqual(expectedSupervised(ids));
    for (const i of sup) expect(labels[i]).toBe(ids[i]);
    expect(sup.filter((i) => ids[i] === SPACE).length).toBe(sup.filter((i) => ids[i] === SEG).length);
    expect(ids[ids.length - 1]).toBe(EOS);
  });

  it('round1 pinned: positions 301-303 supervised', () => {
    expect(supervised(labelPrompt(gold.prompts.round1, tok).labels)).toEqual([301, 302, 303]);
  });

  it('ignores a <FAKE_MASK_OUT> round entirely and keeps the others', () => {
    const p = gold.prompts.round3_noref;
    const k = p.indexOf('<seg>', p.indexOf('<seg>') + 1); // round 2's reply
    const fake = `${p.slice(0, k)}<FAKE_MASK_OUT>${p.slice(k + 5)}`;
    const a = labelPrompt(p, tok);
    const b = labelPrompt(fake, tok);
    expect([...b.ids]).toEqual([...a.ids]);
    const segs = [...a.ids.keys()].filter((i) => a.ids[i] === SEG);
    expect(supervised(b.labels)).toEqual(supervised(a.labels).filter((i) => i !== segs[1] && i !== segs[1] - 1));
  });

  it('ignores every label on a length mismatch, as upstream', () => {
    const p = gold.prompts.round2_ref.replace('standing on.', 'standing on</s>.');
    const r = labelPrompt(p, tok);
    expect(r.mismatch).toBe(true);
    expect(supervised(r.labels)).toEqual([]);
  });
});

describe('training and inference prompts agree', () => {
  it('an MRSeg-written conversation (given mask in round 1, references, no reference) renders as the chat session does', () => {
    const json = formatConversation({
      convId: 'c',
      image: 'a.png',
      dataset: 'shapes',
      rounds: [
        { text: 'Segment the other square.', task: 'hard', target: 2, refs: [{ round: null, mask: 1 }] },
        { text: 'Segment the circle left of instance 1.', task: 'positional', target: 3, refs: [{ round: 1, mask: 2 }] },
        { text: 'Segment the star.', task: 'referring', target: 4, refs: [] },
      ],
    });
    const train = renderPrompt(conversationMessages(json, SEGLLM_TEMPLATE, 256).messages);
    const chat = renderConversation([
      { text: 'Segment the other square.', refs: [], given: 1 },
      { text: 'Segment the circle left of instance 1.', refs: [1] },
      { text: 'Segment the star.', refs: [] },
    ]);
    expect(train).toBe(chat);
    expect(chat).toContain('USER: <video><video>Segment the circle');
    expect(chat).toContain(`${'<video>'.repeat(258)}Segment the other square.`);
    expect(labelPrompt(train, tok).mismatch).toBe(false);
  });
});

describe('ground-truth encodings (training recipe)', () => {
  // A 7 (wide) x 5 (tall) image; the mask covers rows 1..2 and columns 2..4 (inclusive).
  const W = 7;
  const H = 5;
  const img = newImage(W, H, 3);
  for (let i = 0; i < W * H * 3; i++) img.data[i] = (i * 37) % 251;
  const mask = new Uint8Array(W * H);
  for (let y = 1; y <= 2; y++) for (let x = 2; x <= 4; x++) mask[y * W + x] = 1;
  mask[1 * W + 2] = 0; // a hole: masked out inside the box

  it('crops the tight box (inclusive max), pastes top-left on a zero square, CLIP-preprocesses', () => {
    const sq = newImage(3, 3, 3);
    const crop = newImage(3, 2, 3);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 3; x++) {
        const on = mask[(y + 1) * W + x + 2] === 1;
        for (let c = 0; c < 3; c++) crop.data[(y * 3 + x) * 3 + c] = on ? img.data[((y + 1) * W + x + 2) * 3 + c] : 0;
      }
    }
    paste(sq, crop, 0, 0);
    expect(groundTruthMaskPixels(img, mask, 224)).toEqual(clipPreprocess(sq, { size: 224 }).data);
  });

  it('box is [ymin, xmin, ymax, xmax] / S with inclusive max', () => {
    const S = 8;
    const framed = new Uint8Array(S * S);
    framed[1 * S + 2] = 1;
    framed[2 * S + 4] = 1;
    expect(groundTruthBox(framed, S)).toEqual([1 / 8, 2 / 8, 2 / 8, 4 / 8]);
    expect(() => groundTruthBox(new Uint8Array(S * S), S)).toThrow(/empty/);
  });
});

describe('MRSeg-Shapes samples end to end', () => {
  let out: string;
  let opts: TrainDatasetOptions;
  let coco: CocoIndex;
  const conv = (type: string) => join(out, 'conversations', 'train', `${type}.json`);
  const config = tinySegLLMConfig({ imageSize: 128 });
  const S = config.hipie_image_size;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'segllm-train-'));
    await writeShapesDataset({ out, n: 3, seed: 7, valCount: 0 });
    const ann = join(out, 'annotations', 'shapes_train.json');
    coco = new CocoIndex(readCocoInstances(JSON.parse(readFileSync(ann, 'utf8'))));
    opts = { images: join(out, 'images'), annotations: [ann], tokenizer: tok, config };
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** The annotation's mask in the padded frame through the models' Pillow resize (independent of the RLE path). */
  function framedAnnotation(id: number): Uint8Array {
    const r = coco.mask(id);
    return resizeMask({ width: r.w, height: r.h, channels: 1, data: decodeRle(r).toBytes('row') }, S).data;
  }

  function checkLayout(s: TrainSample, item: { conversations: { from: string; value: string }[] }): void {
    const { ids, labels } = s;
    expect(ids.slice(s.imageStart, s.imageStart + 256).every((x) => x === VIDEO)).toBe(true);
    expect(ids.filter((x) => x === VIDEO).length).toBe(256 + s.maskSlots.length + s.boxSlots.length);
    expect(s.maskSlots.map((m) => m.position + 1)).toEqual(s.boxSlots.map((b) => b.position));
    for (const m of s.maskSlots) expect(ids[m.position]).toBe(VIDEO);
    expect(s.segs.map((g) => ids[g.position])).toEqual(s.segs.map(() => SEG));
    expect(s.segs.length).toBe(item.conversations.length / 2);
    // Labels cover exactly each reply ('▁<seg>') and the final '</s>'.
    expect(supervised(labels)).toEqual(expectedSupervised(ids));
    expect(s.segs.filter((g) => g.lossMask).length).toBe(Math.min(2, s.segs.length));
  }

  it('a multi-round conversation: slots, labels, masks equal to the annotations', async () => {
    const ds = await TrainDataset.open([conv('hierarchical'), conv('positional')], opts);
    const items = JSON.parse(readFileSync(conv('hierarchical'), 'utf8'));
    const s = await ds.sample(0, 0, 123);
    checkLayout(s, items[0]);
    expect(s.segs.length).toBeGreaterThan(2);
    const image = await readImageFile(join(out, 'images', items[0].conversations[0].value.match(/IMAGE256:([^\]]+)/)[1]));
    expect(s.clipPixels).toEqual(clipPreprocess(image, { size: 224 }).data);
    expect(s.hipiePixels.length).toBe(3 * S * S);
    // Each round's target and MASK-DECODE reference are the annotations, framed.
    items[0].conversations.filter((t: { from: string }) => t.from === 'gpt').forEach((t: { value: string }, k: number) => {
      const f = t.value.slice(1, -1).split(':');
      expect(s.segs[k].target).toEqual(framedAnnotation(Number(f[f.length - 3])));
      expect(s.segs[k].reference).toEqual(f[2] === 'none' ? null : framedAnnotation(Number(f[2])));
    });
    // Encoded masks: kept ones are the training-recipe encodings of the named annotation.
    const encoded = items[0].conversations.flatMap((t: { value: string }) => [...t.value.matchAll(/MASK-ENCODE:[^|]*\|[^|]*\|(\d+)\]/g)].map((m) => Number(m[1])));
    expect(encoded.length).toBe(s.maskSlots.length);
    s.maskSlots.forEach((m, i) => {
      if (m.pixels) expect(m.pixels).toEqual(groundTruthMaskPixels(image, decodeRle(coco.mask(encoded[i])).toBytes('row'), 224));
    });
    s.boxSlots.forEach((b, i) => {
      if (b.box) expect(b.box).toEqual(groundTruthBox(framedAnnotation(encoded[i]), S));
    });
  });

  it('keeps each encoding with probability 0.5 and picks 2 rounds for the mask loss at random', async () => {
    const ds = await TrainDataset.open([conv('hierarchical')], opts);
    let kept = 0;
    let total = 0;
    const chosen = new Set<string>();
    for (let seed = 0; seed < 24; seed++) {
      const s = await ds.sample(0, 0, seed);
      kept += s.maskSlots.filter((m) => m.pixels).length + s.boxSlots.filter((b) => b.box).length;
      total += s.maskSlots.length + s.boxSlots.length;
      chosen.add(s.segs.map((g) => (g.lossMask ? 1 : 0)).join(''));
    }
    expect(kept / total).toBeGreaterThan(0.35);
    expect(kept / total).toBeLessThan(0.65);
    expect(chosen.size).toBeGreaterThan(3);
  });

  it('hard split: the given mask is encoded in round 1 and is the decode reference', async () => {
    const ds = await TrainDataset.open([conv('hard')], opts);
    const items = JSON.parse(readFileSync(conv('hard'), 'utf8'));
    const s = await ds.sample(0, 0, 5);
    checkLayout(s, items[0]);
    expect(s.maskSlots).toHaveLength(1);
    expect(s.maskSlots[0].position).toBeGreaterThan(s.imageStart + 255);
    expect(s.maskSlots[0].position).toBeLessThan(s.segs[0].position);
    const [, , ref, tgt] = items[0].conversations[1].value.slice(1, -1).split(':');
    expect(s.segs[0].reference).toEqual(framedAnnotation(Number(ref)));
    expect(s.segs[0].target).toEqual(framedAnnotation(Number(tgt)));
  });

  it('bad inputs are typed, named skips: missing image, unknown id, empty mask, too long', async () => {
    const base = (JSON.parse(readFileSync(conv('hard'), 'utf8')) as { conv_id: string; conversations: { from: string; value: string }[] }[])[0];
    const bad = (id: string, from: string, to: string) => ({ ...base, conv_id: id, conversations: base.conversations.map((t) => ({ ...t, value: t.value.replaceAll(from, to) })) });
    const [, , ref] = base.conversations[1].value.slice(1, -1).split(':');
    const ann = JSON.parse(readFileSync(join(out, 'annotations', 'shapes_train.json'), 'utf8'));
    const a0 = ann.annotations.find((a: { id: number }) => a.id === Number(ref));
    ann.annotations.push({ ...a0, id: 999999, segmentation: [[10, 10, 10, 10, 10, 10]], area: 0 });
    const annPath = join(out, 'annotations', 'with_empty.json');
    writeFileSync(annPath, JSON.stringify(ann));
    const file = join(out, 'bad.json');
    writeFileSync(join(out, 'images', 'train', 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    writeFileSync(file, JSON.stringify([
      bad('no-image', 'train/000001.png', 'train/missing.png'),
      bad('broken', 'train/000001.png', 'train/broken.png'),
      bad('unknown-id', `|${ref}]`, '|424242]'),
      bad('empty', `|${ref}]`, '|999999]'),
      base,
    ]));
    const ds = await TrainDataset.open([file], { ...opts, annotations: { shapes: annPath } });
    const { samples, skipped } = await ds.batch({ step: 0, dataset: 0, indices: [0, 1, 2, 3, 4], seeds: [1, 2, 3, 4, 5] });
    expect(samples.map((s) => s.source.convId)).toEqual([String(base.conv_id)]);
    expect(skipped.map((e) => [e.name, e.problem, e.convId, e.file])).toEqual([
      ['TrainSampleError', 'missing-image', 'no-image', file],
      ['TrainSampleError', 'bad-image', 'broken', file],
      ['TrainSampleError', 'unknown-annotation', 'unknown-id', file],
      ['TrainSampleError', 'empty-mask', 'empty', file],
    ]);
    expect(skipped[2].message).toContain('bad.json, conversation unknown-id');
    expect(ds.skips).toEqual({ 'missing-image': 1, 'bad-image': 1, 'unknown-annotation': 1, 'empty-mask': 1 });
    const short = await TrainDataset.open([file], { ...opts, annotations: [annPath], config: { ...config, max_length: 300 } });
    await expect(short.sample(0, 4, 1)).rejects.toMatchObject({ problem: 'too-long', convId: String(base.conv_id) });
    await expect(TrainDataset.open([join(out, 'nope.json')], opts)).rejects.toThrow(TrainDataError);
    // Annotation files per dataset name: ids of another source are not looked up.
    const other = await TrainDataset.open([file], { ...opts, annotations: { refcoco: annPath } });
    await expect(other.sample(0, 4, 1)).rejects.toMatchObject({ problem: 'unknown-annotation' });
  });

  it('a sampler draw builds bit-identical samples after a resume', async () => {
    const ds = await TrainDataset.open([conv('hierarchical'), conv('hard')], opts);
    const a = new TrainSampler(ds.sizes, 2, 11);
    a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const first = await ds.batch(a.next());
    const b = new TrainSampler(ds.sizes, 2, 11);
    b.restore(saved);
    const again = await ds.batch(b.next());
    expect(again.samples).toEqual(first.samples);
  });
});

describe('TrainSampler', () => {
  it('one dataset per batch, uniform over datasets, indices with replacement, deterministic', () => {
    const sizes = [3, 50, 7];
    const s = new TrainSampler(sizes, 4, 1);
    const counts = [0, 0, 0];
    const draws = Array.from({ length: 3000 }, () => s.next());
    for (const d of draws) {
      counts[d.dataset]++;
      expect(d.indices).toHaveLength(4);
      for (const i of d.indices) expect(i >= 0 && i < sizes[d.dataset]).toBe(true);
    }
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120); // ~5 sigma
    expect(draws.some((d) => new Set(d.indices).size < d.indices.length)).toBe(true);
    expect(new TrainSampler(sizes, 4, 1).draw(17)).toEqual(draws[17]);
    expect(new TrainSampler(sizes, 4, 2).draw(17)).not.toEqual(draws[17]);
    expect(s.batchesPerEpoch).toBe(15);
  });

  it('state()/restore() resumes bit for bit and refuses another dataset', () => {
    const a = new TrainSampler([5, 9], 2, 3);
    for (let i = 0; i < 10; i++) a.next();
    const st = JSON.parse(JSON.stringify(a.state()));
    const tail = Array.from({ length: 5 }, () => a.next());
    const b = new TrainSampler([5, 9], 2, 3);
    b.restore(st);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(tail);
    expect(() => new TrainSampler([5, 8], 2, 3).restore(st)).toThrow(TrainDataError);
    expect(() => new TrainSampler([5, 9], 2, 3).restore({ ...st, step: -1 })).toThrow(/non-negative/);
    expect(() => new TrainSampler([5, 0], 2, 3)).toThrow(TrainDataError);
  });
});
