/** `segllm eval` end to end on MRSeg-Shapes conversations, scored by `segllm data metrics`; sharding; argument errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSegLLM } from '@segllm/core';
import { encodeBytes, parseConversation, rleFromCoco, rleIntersectionUnion, rleToCoco, rleToPaddedFrame, writeShapesDataset, type ConversationJson } from '@segllm/mrseg';
import { runEval, parseShard, rleToRowMajor, roundText } from '../src/commands/eval.ts';
import { imageInside } from '@segllm/core/train';
import { computeMetricsFromFiles } from '../src/commands/data-metrics.ts';
import { decoderFor } from '../src/lib/model.ts';
import { FRAME, captureIo, makeFixtures } from './helpers.ts';

let fx: Awaited<ReturnType<typeof makeFixtures>>;
let data: string;
let convs: ConversationJson[];
let ann: string;
let convPath: string;

interface Rec {
  conv_id: string;
  round: number;
  mask: { size: [number, number]; counts: string };
  box?: number[];
}
const read = (p: string): Rec[] => JSON.parse(readFileSync(p, 'utf8')) as Rec[];

beforeAll(async () => {
  fx = await makeFixtures();
  data = join(fx.dir, 'shapes');
  await writeShapesDataset({ out: data, n: 0, seed: 0, valCount: 1 });
  // Three 2-round interactional conversations (round 2 refers to round 1) and one hard query (a given-mask reference).
  const load = (t: string): ConversationJson[] => JSON.parse(readFileSync(join(data, `conversations/val/${t}.json`), 'utf8')) as ConversationJson[];
  convs = [...load('interactional').slice(0, 3), load('hard')[0]];
  convPath = join(fx.dir, 'four.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(convPath, JSON.stringify(convs));
  ann = join(data, 'annotations/shapes_val.json');
});
afterAll(() => fx.cleanup());

const base = (): string[] => ['--model', fx.ckpt, '--conversations', convPath, '--annotations', ann, '--images', join(data, 'images')];

describe('segllm eval', () => {
  it('writes predictions and ground truth that `data metrics` scores, matching the library and the annotations', async () => {
    const pred = join(fx.dir, 'pred.json');
    const gt = join(fx.dir, 'gt.json');
    const io = captureIo();
    expect(await runEval([...base(), '--out', pred, '--gt-out', gt], io), io.stderr()).toBe(0);
    const parsed = convs.map((c) => parseConversation(c));
    const keys = parsed.flatMap((c) => c.rounds.map((r) => `${c.convId}/${r.index}`));
    expect(read(pred).map((r) => `${r.conv_id}/${r.round}`)).toEqual(keys);
    expect(read(gt).map((r) => `${r.conv_id}/${r.round}`)).toEqual(keys);
    // Ground truth = the annotation masks of the round targets.
    const annotations = (JSON.parse(readFileSync(ann, 'utf8')) as { annotations: { id: number; segmentation: { size: [number, number]; counts: string } }[] }).annotations;
    const byId = new Map(annotations.map((a) => [a.id, a.segmentation]));
    expect(read(gt).map((r) => r.mask)).toEqual(parsed.flatMap((c) => c.rounds.map((r) => rleToCoco(rleFromCoco(byId.get(r.target as number)!)))));
    // Predictions = the library's segmentConversation on the same checkpoint; the hard query's given mask (round 1)
    // goes in as a ground-truth reference, none is skipped.
    const { model } = await loadSegLLM(fx.ckpt, { decoder: decoderFor });
    const byRle = new Map(annotations.map((a) => [a.id, rleFromCoco(a.segmentation)]));
    const inputs = (c: (typeof parsed)[number]) => c.rounds.map((_, k) => ({ text: roundText(c, k).text, given: roundText(c, k).given.map((id) => rleToRowMajor(byRle.get(id as number)!)) }));
    const lib = [];
    for (const c of parsed) lib.push(...(await model.segmentConversation(join(data, 'images', c.image), inputs(c))));
    expect(read(pred).map((r) => [r.mask, r.box])).toEqual(lib.map((r) => [rleToCoco(encodeBytes(r.mask, r.height, r.width)), r.box]));
    expect(parsed.map((c) => c.rounds.map((_, k) => roundText(c, k).text.slice(0, 7)))).toEqual([['I\'d lik', '[REF:1]'], ['Kindly ', '[REF:1]'], ['Please ', '[REF:1]'], ['Can you']]);
    expect(parsed.map((c) => c.rounds.map((_, k) => roundText(c, k).given.length))).toEqual([[0, 0], [0, 0], [0, 0], [1]]);
    expect(io.stderr()).toContain('eval: 1 references to given masks (hard queries) encoded from the ground truth');
    expect(io.stderr()).not.toMatch(/left out|skipped/);
    // Without the given mask the hard query is answered differently: the reference reaches the model.
    const hard = parsed[3];
    const [blind] = await model.segmentConversation(join(data, 'images', hard.image), [{ text: roundText(hard, 0).text }]);
    expect(blind.score).not.toBe(lib.at(-1)!.score);
    // The printed metrics are those of `segllm data metrics` on the two files, and cIoU is the hand sum.
    const printed = JSON.parse(io.stdout().trim()) as { overall: { cIoU: number; n: number } };
    const metrics = await computeMetricsFromFiles(gt, pred);
    expect(printed).toEqual(JSON.parse(JSON.stringify(metrics)));
    let inter = 0;
    let union = 0;
    read(pred).forEach((p, i) => {
      const r = rleIntersectionUnion(rleFromCoco(p.mask), rleFromCoco(read(gt)[i].mask));
      inter += r.intersection;
      union += r.union;
    });
    expect(metrics.overall.n).toBe(keys.length);
    expect(metrics.overall.cIoU).toBeCloseTo(inter / union, 12);
  });

  it('--shard i/n splits the conversations disjointly; teacher forcing equals segmentConversation with groundTruth references', async () => {
    const all = join(fx.dir, 'pred.json');
    const s0 = join(fx.dir, 'pred-0.json');
    const s1 = join(fx.dir, 'pred-1.json');
    const tf = join(fx.dir, 'pred-tf.json');
    for (const [out, extra] of [[s0, ['--shard', '0/2']], [s1, ['--shard', '1/2']], [tf, ['--references', 'groundTruth']]] as const) {
      const io = captureIo();
      expect(await runEval([...base(), '--out', out, ...extra], io), io.stderr()).toBe(0);
    }
    const full = read(all);
    const ids = convs.map((c) => c.conv_id);
    expect(read(s0)).toEqual(full.filter((r) => [ids[0], ids[2]].includes(r.conv_id)));
    expect(read(s1)).toEqual(full.filter((r) => [ids[1], ids[3]].includes(r.conv_id)));
    expect(read(s0).length + read(s1).length).toBe(full.length);
    // Teacher forcing equals the library's segmentConversation with ground-truth references.
    const teacher = read(tf);
    expect(teacher.filter((r) => r.round === 1)).toEqual(full.filter((r) => r.round === 1));
    const { model } = await loadSegLLM(fx.ckpt, { decoder: decoderFor });
    const annotations = (JSON.parse(readFileSync(ann, 'utf8')) as { annotations: { id: number; segmentation: { size: [number, number]; counts: string } }[] }).annotations;
    const byId = new Map(annotations.map((a) => [a.id, rleFromCoco(a.segmentation)]));
    const lib = [];
    for (const c of convs.map((x) => parseConversation(x))) {
      const rounds = c.rounds.map((r, k) => ({
        text: roundText(c, k).text,
        given: roundText(c, k).given.map((id) => rleToRowMajor(byId.get(id as number)!)),
        gtMask: rleToRowMajor(byId.get(r.target as number)!),
      }));
      lib.push(...(await model.segmentConversation(join(data, 'images', c.image), rounds, { references: 'groundTruth' })));
    }
    expect(teacher.map((r) => [r.mask, r.box])).toEqual(lib.map((r) => [rleToCoco(encodeBytes(r.mask, r.height, r.width)), r.box]));
  });

  it('argument errors and helpers', async () => {
    for (const [argv, msg] of [
      [['--model', fx.ckpt], /--conversations is required/],
      [[...base(), '--out', 'x.json', '--shard', '2/2'], /--shard must be i\/n with 0 <= i < n, got "2\/2"/],
      [[...base(), '--out', 'x.json', '--references', 'oracle'], /--references must be predicted or groundTruth/],
    ] as const) {
      const io = captureIo();
      expect(await runEval([...argv], io)).toBe(2);
      expect(io.stderr()).toMatch(msg);
    }
    // [IMAGE256:../x] must not read outside --images (issue 17, point 8).
    const { writeFileSync } = await import('node:fs');
    const escaping = join(fx.dir, 'escape.json');
    const img = /\[IMAGE256:([^\]]*)\]/.exec(JSON.stringify(convs[0]))![1];
    writeFileSync(escaping, JSON.stringify([convs[0]]).replaceAll(img, '../../secret.png'));
    const io = captureIo();
    const rc = await runEval(['--model', fx.ckpt, '--conversations', escaping, '--annotations', ann, '--images', join(data, 'images'), '--out', join(fx.dir, 'p.json')], io);
    expect(rc).toBe(1);
    expect(io.stderr()).toMatch(/EvalInputError: .*image "\.\.\/\.\.\/secret\.png" is not a file name inside the image folder/);
    expect(await imageInside('/data/img', 'a/b.png', 'c')).toBe('/data/img/a/b.png');
    for (const bad of ['../x.png', '/etc/passwd', 'a/../../x', '.', '']) await expect(imageInside('/data/img', bad, 'c')).rejects.toThrow(/is not a file name inside the image folder/);
    expect(await imageInside('/data/img', '..x.png', 'c')).toBe('/data/img/..x.png');
    expect(parseShard('3/8')).toEqual({ index: 3, count: 8 });
    // rleToRowMajor inverts encodeBytes (row-major), including the padded frame the teacher forcing uses.
    const m = new Uint8Array(FRAME * 48);
    for (let i = 0; i < m.length; i++) m[i] = (i * 7919) % 5 === 0 ? 1 : 0;
    expect(Array.from(rleToRowMajor(encodeBytes(m, 48, FRAME)))).toEqual(Array.from(m));
    expect(rleToRowMajor(rleToPaddedFrame(encodeBytes(m, 48, FRAME), FRAME)).length).toBe(FRAME * FRAME);
  });
});
