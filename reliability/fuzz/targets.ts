/**
 * Fuzz targets: every parser and entry point that reads files or text a user or a download can hand us. Seeds are
 * built here (small valid files), then mutated; a few crafted hostile inputs are mixed in.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer, decodeImage } from '@segllm/models';
import { bundledTokenizer, bundledTokenizerJson, checkpointFiles } from '@segllm/core';
import { decodePng, encodePng, frPyObjects, parseConversation, polygonToRle, readCocoInstances, rleArea, rleFromCoco, rleFromString, segmentationToRle, streamJsonItems, unpickle } from '@segllm/mrseg';
import { deserializeSafetensors, serializeSafetensors } from '@segllm/tensor';
import { mutateBytes, mutateText } from './harness.ts';
import type { FuzzTarget, Rng } from './harness.ts';
import { cliTarget } from './cli-target.ts';

const hex = (b: Uint8Array) => `${b.length} bytes: ${Buffer.from(b.subarray(0, 48)).toString('hex')}${b.length > 48 ? '…' : ''}`;
const text = (s: string) => `${s.length} chars: ${JSON.stringify(s.slice(0, 200))}`;

function stFile(): Uint8Array {
  return serializeSafetensors(
    {
      w: { dtype: 'bfloat16', shape: [2, 3], data: Uint16Array.from([1, 2, 3, 4, 5, 6]) },
      b: { dtype: 'float32', shape: [2], data: Float32Array.from([0.5, -1]) },
      m: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
      k: { dtype: 'int32', shape: [1, 1], data: Int32Array.from([9]) },
    },
    { about: 'fuzz' },
  );
}

const safetensorsBytes: FuzzTarget<Uint8Array> = {
  name: 'safetensors bytes',
  input: (rng) => mutateBytes(stFile(), rng),
  run: (b) => Object.keys(deserializeSafetensors(b).tensors).length,
  describe: hex,
};

const shard = (names: string[]) => serializeSafetensors(Object.fromEntries(names.map((n, i) => [n, { dtype: 'float32' as const, shape: [2], data: Float32Array.from([i, -i]) }])));
const INDEX = JSON.stringify({ metadata: { total_size: 24 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } });

const safetensorsIndex: FuzzTarget<{ index: string; shards: Uint8Array[] }> = {
  name: 'safetensors sharded index',
  input: (rng) => ({
    index: rng.chance(0.8) ? mutateText(INDEX, rng) : INDEX,
    shards: [shard(['a', 'b']), shard(['c'])].map((s) => (rng.chance(0.3) ? mutateBytes(s, rng) : s)),
  }),
  async run({ index, shards }) {
    const files = checkpointFiles({ 'model.safetensors.index.json': new TextEncoder().encode(index), 'model-00001-of-00002.safetensors': shards[0], 'model-00002-of-00002.safetensors': shards[1] });
    const store = await files.store();
    try {
      for (const k of store.keys()) await store.read(k);
    } finally {
      await store.close();
    }
  },
  describe: (x) => text(x.index),
};

let tok: Tokenizer;
let tokJson: Record<string, unknown>;
const PROMPTS = ['Segment the dog. <image>', 'USER: <seg> [SEG] </s><s>', ' \t\n', 'café ☃ 𝔘 \u0000', '\u9fff'.repeat(3)];
const JUNK: unknown[] = [null, 7, -1, 'x', [], {}, [[['deep']]], { type: 'Nope' }, 1e300, '\u0000', [1, 2, 3]];
const FIELDS = ['model', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'added_tokens', 'model.type', 'model.vocab', 'model.merges', 'model.byte_fallback', 'model.unk_token'];

/** Text to encode, or one field of tokenizer.json replaced by junk (parsed by Tokenizer.fromJSON). */
type TokInput = { text: string } | { field: string; value: unknown };

const tokenizer: FuzzTarget<TokInput> = {
  name: 'tokenizer',
  hangMs: 10_000, // the crafted 20k-50k character inputs are encoded three times
  async setup() {
    tok ??= await bundledTokenizer();
    tokJson ??= JSON.parse(await bundledTokenizerJson()) as Record<string, unknown>;
  },
  input(rng) {
    if (rng.chance(0.15)) return { field: rng.pick(FIELDS), value: rng.pick(JUNK) };
    return { text: rng.chance(0.02) ? '\u9fff'.repeat(20000 + rng.int(30000)) : mutateText(rng.pick(PROMPTS), rng) };
  },
  run(x) {
    if ('field' in x) {
      const j: Record<string, unknown> = { ...tokJson, model: { ...(tokJson.model as object) } };
      const [a, b] = x.field.split('.');
      if (b === undefined) j[a] = x.value;
      else (j.model as Record<string, unknown>)[b] = x.value;
      return Tokenizer.fromJSON(j);
    }
    const ids = tok.encode(x.text);
    tok.decode(ids);
    return tok.encode(x.text, { maxTokens: 64 }).length;
  },
  describe: (x) => ('field' in x ? `tokenizer.json ${x.field} = ${JSON.stringify(x.value)}` : text(x.text)),
};

function pngSeeds(): Uint8Array[] {
  const px = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);
  return [
    encodePng({ width: 7, height: 5, channels: 3, data: px(105) }),
    encodePng({ width: 4, height: 4, channels: 1, data: px(16) }),
    encodePng({ width: 3, height: 6, channels: 4, data: px(72) }),
  ];
}

/** A PNG that claims `w` x `h` over a tiny IDAT. */
function claimPng(w: number, h: number): Uint8Array {
  const b = pngSeeds()[1].slice();
  const dv = new DataView(b.buffer);
  dv.setUint32(16, w);
  dv.setUint32(20, h);
  // Fix the IHDR CRC so that decoders look past it.
  let c = 0xffffffff;
  for (let i = 12; i < 29; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  dv.setUint32(29, (c ^ 0xffffffff) >>> 0);
  return b;
}

// A real baseline 4:2:0 JPEG (Pillow-made fixture of the models package).
const jpegSeed = new Uint8Array(readFileSync(new URL('../../packages/models/test/fixtures/jpeg/baseline-420.jpg', import.meta.url)));

const images: FuzzTarget<Uint8Array> = {
  name: 'PNG/JPEG (decodeImage, mrseg decodePng)',
  input(rng) {
    if (rng.chance(0.05)) return claimPng(rng.pick([2 ** 31, 16000, 8000, 1 << 20]), rng.pick([3, 16000, 8000, 1]));
    return mutateBytes(rng.chance(0.4) ? jpegSeed : rng.pick(pngSeeds()), rng);
  },
  async run(b) {
    const img = await decodeImage(b);
    if (b[0] === 0x89) decodePng(b);
    return img.width;
  },
  describe: hex,
};

const CONV = {
  task: 'segmentation',
  conv_id: 'c1',
  conversations: [
    { from: 'human', value: '[IMAGE256:coco/1.jpg] Segment the dog.' },
    { from: 'gpt', value: '[SEG] [MASK-DECODE:coco/1.jpg|2|coco]' },
    { from: 'human', value: '[BOX-ENCODE:coco/1.jpg|2|coco] Segment what [REF:1] holds.' },
    { from: 'gpt', value: '[SEG] [MASK-DECODE:coco/1.jpg|3|coco]' },
  ],
};
const CONV_TEXT = JSON.stringify(CONV);

const conversation: FuzzTarget<string> = {
  name: 'conversation markup and JSON',
  input: (rng) => mutateText(CONV_TEXT, rng, '[]{}":,|\\IMAGEBOXMASK-DECODEREF:0123456789 \u0000'),
  run(s) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      return 'not JSON'; // the JSON parser's own SyntaxError is not ours; the streaming reader is fuzzed below
    }
    return parseConversation(v);
  },
  describe: text,
};

const stream: FuzzTarget<string> & { dir?: string } = {
  name: 'streaming JSON reader',
  async setup() {
    this.dir ??= mkdtempSync(join(tmpdir(), 'fuzz-json-'));
    return Promise.resolve();
  },
  input: (rng) => mutateText(`{"info":{},"images":[{"id":1}],"annotations":[${CONV_TEXT}]}`, rng),
  async run(s) {
    const p = join(this.dir!, 'f.json');
    writeFileSync(p, s);
    let n = 0;
    for await (const _ of streamJsonItems(p, { chunkSize: 64 })) n++;
    return n;
  },
  describe: text,
};

const COCO = {
  images: [{ id: 1, width: 20, height: 10, file_name: 'a.jpg' }],
  categories: [{ id: 1, name: 'dog' }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5], area: 25, iscrowd: 0, segmentation: [[1, 1, 6, 1, 6, 6, 1, 6]] },
    { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 2, 2], area: 4, iscrowd: 1, segmentation: { size: [10, 20], counts: [0, 5, 195] } },
    { id: 3, image_id: 1, category_id: 1, bbox: [0, 0, 2, 2], area: 4, iscrowd: 0, segmentation: { size: [10, 20], counts: 'PP3' } },
  ],
};

function randomPoly(rng: Rng): number[] {
  const big = [1e8, -4e8, 1.2e7, 1e300, Number.MAX_SAFE_INTEGER, NaN, Infinity];
  return Array.from({ length: rng.int(12) }, () => (rng.chance(0.1) ? rng.pick(big) : rng.next() * 40 - 10));
}

const coco: FuzzTarget<{ json: string; poly: number[]; counts: string; h: number; w: number }> = {
  name: 'COCO/RLE/polygons',
  input: (rng) => ({
    json: mutateText(JSON.stringify(COCO), rng),
    poly: randomPoly(rng),
    counts: mutateText('PP3a0k1', rng, '0123456789PQRSabc_`\\'),
    h: rng.pick([0, 1, 10, 37, 1 << 12]),
    w: rng.pick([0, 1, 20, 41, 1 << 14]),
  }),
  run({ json, poly, counts, h, w }) {
    let area = 0;
    const tries: (() => unknown)[] = [
      () => {
        let v: unknown;
        try {
          v = JSON.parse(json);
        } catch {
          return null;
        }
        const d = readCocoInstances(v);
        for (const a of d.annotations) {
          const img = d.images.find((i) => i.id === a.image_id);
          if (img) area += rleArea(segmentationToRle(a.segmentation, img.height, img.width));
        }
        return d;
      },
      () => (area += rleArea(polygonToRle(poly, h, w))),
      () => frPyObjects([poly], h, w),
      () => (area += rleArea(rleFromString(counts, h, w))),
      () => rleFromCoco({ size: [h, w], counts }),
    ];
    // All parts run; the first error is reported.
    let first: unknown = null;
    for (const t of tries) {
      try {
        t();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first as Error; // whatever was thrown, classified by the harness
    return area;
  },
  describe: (x) => `poly ${JSON.stringify(x.poly)} counts ${JSON.stringify(x.counts)} [${x.h}, ${x.w}] json ${x.json.slice(0, 120)}`,
};

/** Protocol 2 pickle of {"refs": [1, -2, 3.5, "a", None, True, 2**70], "t": (1, 2)} built by hand. */
const PICKLE = Uint8Array.from([
  0x80, 2, 0x7d, 0x71, 0, 0x28, 0x58, 4, 0, 0, 0, ...Buffer.from('refs'), 0x71, 1, 0x5d, 0x71, 2, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x47, 0x40, 0x0c, 0, 0, 0, 0, 0, 0, 0x58, 1, 0, 0, 0, 0x61, 0x4e, 0x88, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x65, 0x58, 1, 0, 0, 0, 0x74, 0x4b, 1, 0x4b, 2, 0x86, 0x71, 3, 0x75, 0x2e,
]);
const PICKLE0 = new TextEncoder().encode("(dp0\nVref\np1\n(lp2\nI1\naF2.5\naS'x\\n'\np3\naL12345678901234567890L\nas.");

const pickle: FuzzTarget<Uint8Array> = {
  name: 'pickle',
  input(rng) {
    if (rng.chance(0.03)) return Uint8Array.from([0x80, 2, 0x8b, 0, 0, 4, 0, ...new Uint8Array(1 << 18).fill(0xff), 0x2e]); // 256 KiB LONG4
    if (rng.chance(0.1)) return Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
    return mutateBytes(rng.chance(0.5) ? PICKLE : PICKLE0, rng);
  },
  run: (b) => unpickle(b),
  describe: hex,
};

/** Every target, in the order of the report. */
export function allTargets(): FuzzTarget<never>[] {
  return [safetensorsBytes, safetensorsIndex, tokenizer, images, conversation, stream, coco, pickle, cliTarget] as unknown as FuzzTarget<never>[];
}

/** Removes what the targets wrote (temporary folders). */
export function cleanupTargets(): void {
  if (stream.dir) rmSync(stream.dir, { recursive: true, force: true });
  cliTarget.cleanup?.();
}

