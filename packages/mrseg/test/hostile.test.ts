/** Hostile inputs to the readers and mask code (issue 17): bounded time and memory, typed errors. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversationFormatError, JsonStreamError, PickleError, parseConversation, polygonToRle, polygonsToRle, rleArea, rleEquals, streamJsonItems, unpickle } from '../src/index.ts';

/** Protocol-2 pickle bytes: PROTO 2, the body, STOP. */
const pickle = (...body: (number | Uint8Array)[]): Uint8Array => {
  const parts = [Uint8Array.of(0x80, 2), ...body.map((b) => (typeof b === 'number' ? Uint8Array.of(b) : b)), Uint8Array.of(0x2e)];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
};
const u32le = (n: number) => Uint8Array.of(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);

describe('pickle', () => {
  it('decodes a 1 MiB LONG4 in linear time, exactly (issue 17, point 6)', () => {
    const n = 1 << 20;
    const bytes = new Uint8Array(n).fill(0xff);
    bytes[n - 1] = 0x7f; // positive: 2^(8n - 1) - 1
    const t0 = performance.now();
    const v = unpickle(pickle(0x8b, u32le(n), bytes)) as bigint;
    expect(performance.now() - t0).toBeLessThan(5000); // was quadratic: 256 KB took 59 s
    expect(v).toBe((1n << BigInt(8 * n - 1)) - 1n);
    expect(unpickle(pickle(0x8a, 2, Uint8Array.of(0x00, 0x80)))).toBe(-32768);
    expect(unpickle(pickle(0x8a, 9, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1)))).toBe((1n << 64n) + 1n);
  });

  it('APPENDS of 200k items and an out-of-range \\U escape: a list and a PickleError, no RangeError (point 9)', () => {
    const items = new Uint8Array(200_000 * 2);
    for (let i = 0; i < 200_000; i++) items.set([0x4b, i & 255], 2 * i); // BININT1
    const list = unpickle(pickle(0x5d, 0x28, items, 0x65)) as number[]; // EMPTY_LIST MARK ... APPENDS
    expect(list.length).toBe(200_000);
    expect(list[257]).toBe(1);
    const text = new TextEncoder().encode('\\U00110000\n');
    expect(() => unpickle(pickle(0x56, text))).toThrow(PickleError); // UNICODE (protocol 0 text)
    expect(() => unpickle(pickle(0x56, text))).toThrow(/beyond U\+10FFFF/);
    expect(unpickle(pickle(0x56, new TextEncoder().encode('\\U0010ffff\n')))).toBe('\u{10ffff}');
  });
});

describe('polygons far outside the image (issue 17, point 7)', () => {
  it('clips before rasterising: the same mask as the in-margin polygon, in bounded time and memory', () => {
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    const full = polygonToRle([0, 0, 1.2e7, 0, 1.2e7, 1.2e7, 0, 1.2e7], 10, 10);
    expect(rleEquals(full, polygonToRle([0, 0, 19, 0, 19, 19, 0, 19], 10, 10))).toBe(true);
    expect(rleArea(full)).toBe(100);
    const band = polygonToRle([2, 2, 1e8, 2, 1e8, 7, 2, 7], 10, 10);
    expect(rleEquals(band, polygonToRle([2, 2, 15, 2, 15, 7, 2, 7], 10, 10))).toBe(true);
    expect(rleArea(polygonToRle([-4e8, -4e8, 4e8, -4e8, 4e8, 4e8, -4e8, 4e8], 10, 10))).toBe(100);
    const coco = polygonsToRle([[10, 10, 1.1e8, 20, 30, 400]], 480, 640);
    expect(rleArea(coco)).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });
});

describe('conversation JSON (issue 17, point 9)', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
  it('a deeply nested "task" or "ind" gives a ConversationFormatError, not a RangeError', () => {
    expect(() => parseConversation({ task: deep, conversations: [] })).toThrow(ConversationFormatError);
    expect(() => parseConversation({ task: deep, conversations: [] })).toThrow('"task" must be "segmentation", got a list of 1');
    const turns = [
      { from: 'human', value: '[IMAGE256:a.png] Segment the dog.', ind: deep },
      { from: 'gpt', value: '[SEG]' },
    ];
    expect(() => parseConversation({ task: 'segmentation', conv_id: 'c', conversations: turns })).toThrow(ConversationFormatError);
  });

  it('a key with a control character gives a JsonStreamError from the streaming reader', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'mrseg-json-')), 'bad.json');
    writeFileSync(p, '{"a\u0001b":1}'); // a raw U+0001 inside the key
    const read = async () => {
      for await (const _ of streamJsonItems(p)) void _;
    };
    await expect(read()).rejects.toThrow(JsonStreamError);
    await expect(read()).rejects.toThrow(/invalid key string/);
  });
});
