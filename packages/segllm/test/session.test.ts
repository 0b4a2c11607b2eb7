/** The session API on a tiny random SegLLM (real tokenizer, tiny LLaMA, CLIP and HIPIE). */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { ImageDecodeError, newImage } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import { manualSeed } from '@segllm/tensor';
import { availableBackends, compareArrays } from '@segllm/tensor/testing';
import { ContextLengthError, EmptyMaskError, EmptyPromptError, InvalidReferenceError, SegLLM, SegLLMForSegmentation, bundledTokenizer, defaultDecoder, tinySegLLMConfig } from '@segllm/core';
import type { ChatSession, RoundResult } from '@segllm/core';

const tok = await bundledTokenizer();

function testImage(w: number, h: number): Image8 {
  const img = newImage(w, h, 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = (x * 7 + y * 3 + c * 50) % 256;
  return img;
}

/** A row-major w x h mask, 1 on columns x0..x1-1 and rows y0..y1-1. */
function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return m;
}

const ROUNDS = [
  'Segment the red square.',
  'Segment the circle left of instance 1. [REF:1]',
  'Segment the largest object.',
  'Segment what touches [REF:2] and [REF:1].',
  'Segment the part of instance 3 on top.[REF:3]',
  'Segment the other square.',
];

/** A tiny random SegLLM with the real tokenizer and the real (tiny) HIPIE decoder at 128 x 128. */
function build(seed: number): SegLLM {
  manualSeed(seed);
  const cfg = tinySegLLMConfig();
  return new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), tok);
}

describe.each(await availableBackends())('SegLLM session on %s', (backend) => {
  let model: SegLLM;
  let session: ChatSession;
  beforeAll(async () => {
    model = build(7);
    if (backend !== 'cpu') await model.model.to(backend);
    session = await model.chat(testImage(40, 30));
  });
  afterAll(() => session.dispose());

  it('runs a 6-round conversation with references; incremental rounds equal a full re-run', async () => {
    const results: RoundResult[] = [];
    for (const text of ROUNDS) results.push(await session.ask(text));
    expect(results.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => r.referencedRounds)).toEqual([[], [1], [], [2, 1], [3], []]);
    expect(results[1].referencedRound).toBe(1);
    expect(results[0].mask.length).toBe(40 * 30);
    expect(results[0].maskFrame.length).toBe(128 * 128);
    const inc = session.hiddenStates();
    const full = session.recomputeAll();
    expect(full).toHaveLength(6);
    for (let i = 0; i < 6; i++) {
      const r = compareArrays(await inc[i].data(), await full[i].data(), { rtol: 1e-4, atol: 1e-5 });
      expect(r.ok, `round ${i + 1}: ${JSON.stringify(r)}`).toBe(true);
      // The full re-run multiplies other matrix shapes (GEMM instead of GEMV rows: another summation order), so the
      // hidden states agree to rounding, and so do the decoded boxes; masks may flip a pixel sitting on the threshold.
      const det = await session.decodeHidden(full[i]);
      det.box.forEach((v, k) => expect(v).toBeCloseTo(results[i].boxFrame[k], 3));
      const flipped = det.mask.reduce((n, v, k) => n + (v !== results[i].maskFrame[k] ? 1 : 0), 0);
      expect(flipped).toBeLessThanOrEqual(det.mask.length / 1000);
      full[i].dispose();
    }
  });

  it('is deterministic: the same model and image give the same masks', async () => {
    const again = build(7);
    if (backend !== 'cpu') await again.model.to(backend);
    const s2 = await again.chat(testImage(40, 30));
    try {
      for (const [i, text] of ROUNDS.slice(0, 3).entries()) {
        const r = await s2.ask(text);
        expect(r.boxFrame).toEqual(session.results[i].boxFrame);
        expect(r.score).toBeCloseTo(session.results[i].score, 6);
      }
    } finally {
      s2.dispose();
    }
  });

  it('undo removes the last round and asking again reproduces it', async () => {
    const before = session.results[5];
    expect(session.undo()).toBe(true);
    expect(session.rounds).toBe(5);
    const redo = await session.ask(ROUNDS[5]);
    expect(redo.boxFrame).toEqual(before.boxFrame);
    expect(redo.score).toBeCloseTo(before.score, 5);
  });

  it('keeps a serialisable history', () => {
    const h = session.history();
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    expect(h[3]).toMatchObject({ round: 4, text: ROUNDS[3], refs: [2, 1] });
  });

  it('rejects bad input with typed errors and leaves the session usable', async () => {
    await expect(session.ask('Segment it. [REF:9]')).rejects.toThrow(InvalidReferenceError);
    await expect(session.ask('Segment it. [REF:7]')).rejects.toThrow(/only rounds 1\.\.6/);
    await expect(session.ask('  [REF:1] ')).rejects.toThrow(EmptyPromptError);
    await expect(session.ask('word '.repeat(3000))).rejects.toThrow(ContextLengthError);
    // 45000 CJK characters are ~135k byte-fallback ids: a ContextLengthError, not a RangeError (issue 17, point 5).
    await expect(session.ask('\u9fff'.repeat(45000))).rejects.toThrow("the conversation would be more than 2048 tokens, over the model's context of 2048");
    await expect(session.ask('x'.repeat(10_000_000))).rejects.toThrow(ContextLengthError); // refused before tokenizing
    expect(session.rounds).toBe(6);
    const r = await session.ask('Segment the first object again. [REF:1]');
    expect(r.round).toBe(7);
  });

  it('rejects an image that cannot be decoded with a typed error', async () => {
    await expect(model.chat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]))).rejects.toThrow(ImageDecodeError);
    await expect(model.chat(new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(ImageDecodeError);
  });

  it('segments a whole conversation autoregressively and teacher-forced', async () => {
    const img = testImage(40, 30);
    const rounds = [
      { text: ROUNDS[0], gtMask: rect(40, 30, 2, 2, 15, 12) },
      { text: ROUNDS[1], gtMask: rect(40, 30, 20, 5, 35, 25) },
    ];
    const auto = await model.segmentConversation(img, rounds, { references: 'predicted' });
    const teacher = await model.segmentConversation(img, rounds, { references: 'groundTruth' });
    expect(auto.map((r) => r.round)).toEqual([1, 2]);
    // Autoregressive evaluation is exactly a chat session over the same rounds.
    const chat = await model.chat(img);
    try {
      for (const [i, r] of rounds.entries()) expect((await chat.ask(r.text)).boxFrame).toEqual(auto[i].boxFrame);
    } finally {
      chat.dispose();
    }
    // Round 1 has no reference, so both modes agree there; later rounds see different reference encodings.
    expect(teacher[0].boxFrame).toEqual(auto[0].boxFrame);
    const h = (rs: typeof auto) => rs.map((r) => r.score);
    expect(h(teacher).slice(1)).not.toEqual(h(auto).slice(1));
    await expect(model.segmentConversation(img, [{ text: ROUNDS[0] }], { references: 'groundTruth' })).rejects.toThrow(/gtMask/);
  });

  it('given masks: encoded after the image in round 1 (hard split), kept for re-runs and undo', async () => {
    const img = testImage(40, 30);
    const given = rect(40, 30, 3, 5, 13, 15);
    const s = await model.chat(img);
    try {
      const plain = await s.ask('Segment the other square.');
      const plainHidden = await s.hiddenStates()[0].data();
      s.undo();
      const r1 = await s.ask('Segment the other square.', { given: [given] });
      expect(r1.round).toBe(1);
      expect(compareArrays(await s.hiddenStates()[0].data(), plainHidden, { rtol: 1e-4, atol: 1e-5 }).ok).toBe(false);
      const r2 = await s.ask('Segment what is left of [REF:1].', { given: [rect(40, 30, 20, 2, 30, 9)] });
      expect(r2.referencedRounds).toEqual([1]);
      expect(s.history().map((h) => h.given)).toEqual([1, 1]);
      const inc = s.hiddenStates();
      const full = s.recomputeAll();
      for (let i = 0; i < 2; i++) {
        expect(compareArrays(await inc[i].data(), await full[i].data(), { rtol: 1e-4, atol: 1e-5 }).ok).toBe(true);
        full[i].dispose();
      }
      expect(s.undo()).toBe(true);
      expect((await s.ask('Segment what is left of [REF:1].', { given: [rect(40, 30, 20, 2, 30, 9)] })).boxFrame).toEqual(r2.boxFrame);
      await expect(s.ask('Segment it.', { given: [new Uint8Array(10)] })).rejects.toThrow(/40x30/);
      await expect(s.ask('Segment it.', { given: [new Uint8Array(40 * 30)] })).rejects.toThrow(EmptyMaskError);
      expect(s.rounds).toBe(2);
      expect(plain.round).toBe(1);
    } finally {
      s.dispose();
    }
  });

  it('a given mask and a teacher-forced reference to the same ground truth inject the same encodings', async () => {
    const img = testImage(40, 30);
    const gtMask = rect(40, 30, 3, 5, 13, 15);
    const a = await model.chat(img);
    const b = await model.chat(img);
    try {
      await a.ask(ROUNDS[0]);
      a.teacherForce(gtMask);
      const ra = await a.ask('Segment what is left of it.[REF:1]');
      await b.ask(ROUNDS[0]);
      const rb = await b.ask('Segment what is left of it.', { given: [gtMask] });
      expect(await b.hiddenStates()[1].data()).toEqual(await a.hiddenStates()[1].data());
      expect(rb.boxFrame).toEqual(ra.boxFrame);
      expect(() => a.teacherForce(new Uint8Array(5))).toThrow(/40x30/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('reset forgets every round', async () => {
    session.reset();
    expect(session.rounds).toBe(0);
    await expect(session.ask('Segment it. [REF:1]')).rejects.toThrow(InvalidReferenceError);
    const r = await session.ask(ROUNDS[0]);
    expect(r.round).toBe(1);
  });
});
