import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32ToBf16Bits, f32ToF16Bits } from '../dtype.ts';
import { bytesSource, fileSource, type ByteSource } from './byte-source.ts';
import { SafetensorsError } from './errors.ts';
import { deserializeSafetensors, openSafetensors, saveSafetensors, serializeSafetensors, type RawTensor } from './safetensors.ts';
import { handMade, int64Bytes } from './testing.ts';

const LLAMA = fileURLToPath(new URL('../../test/fixtures/io/llama_tiny.weights.safetensors', import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segllm-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One tensor per dtype, with edge values, plus a scalar and an empty tensor. */
function everyDtype(): Record<string, RawTensor> {
  return {
    f32: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1.5, -2.25, 3e-8, Infinity, -0, 65504]) },
    f64: { dtype: 'float64', shape: [3], data: Float64Array.from([Math.PI, -1e300, 5e-324]) },
    f16: { dtype: 'float16', shape: [2, 2], data: Uint16Array.from([1, -2, 0.099975586, 65504], f32ToF16Bits) },
    bf16: { dtype: 'bfloat16', shape: [4], data: Uint16Array.from([1, -3.140625, 1e30, 2 ** -130], f32ToBf16Bits) },
    i32: { dtype: 'int32', shape: [1, 4], data: Int32Array.from([-2147483648, 2147483647, 0, -7]) },
    u8: { dtype: 'uint8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
    mask: { dtype: 'bool', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    scalar: { dtype: 'float32', shape: [], data: Float32Array.from([42]) },
    empty: { dtype: 'int32', shape: [0, 5], data: new Int32Array(0) },
  };
}

describe('round trips', () => {
  it('keeps every dtype, shape and bit through serialize/deserialize, the lazy reader and a file', async () => {
    const src = everyDtype();
    const meta = { format: 'pt', note: 'héllo "quoted"' };
    const bytes = serializeSafetensors(src, meta);
    const path = join(dir, 'all.safetensors');
    await saveSafetensors(path, src, meta);
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);

    const eager = deserializeSafetensors(bytes);
    expect(eager.metadata).toEqual(meta);
    for (const input of [bytes, path, new Blob([bytes])]) {
      const f = await openSafetensors(input);
      expect(f.metadata).toEqual(meta);
      expect(f.keys().sort()).toEqual(Object.keys(src).sort());
      for (const [name, t] of Object.entries(src)) {
        const got = await f.read(name);
        expect(got).toEqual(t);
        expect(got.data.constructor).toBe(t.data.constructor);
        expect(eager.tensors[name]).toEqual(t);
        expect(f.info(name)).toEqual({ dtype: t.dtype, storedDtype: expect.any(String), shape: t.shape, byteLength: t.data.byteLength });
      }
      await f.close();
    }
  });

  it('orders tensors like the reference writer: dtype alignment descending, then name by code point', () => {
    const f = deserializeSafetensors(serializeSafetensors(everyDtype()));
    const bytes = serializeSafetensors(everyDtype());
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + bytes[0] + 256 * bytes[1]));
    const order = [...header.matchAll(/"(\w+)":\{"dtype"/g)].map((m) => m[1]);
    expect(order).toEqual(['f64', 'f32', 'scalar', 'empty', 'i32', 'bf16', 'f16', 'u8', 'mask']);
    expect(Object.keys(f.tensors)).toEqual(order);
    const names = deserializeSafetensors(serializeSafetensors({ b: everyDtype().u8, '\u{1F600}': everyDtype().u8, '\uFFFD': everyDtype().u8, a: everyDtype().u8 }));
    expect(Object.keys(names.tensors)).toEqual(['a', 'b', '\uFFFD', '\u{1F600}']);
  });

  it('writes byte-identical output to the reference serializer (its own test vectors)', () => {
    const data = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(8, 8 + Number(new DataView(b.buffer).getBigUint64(0, true))));
    const a = serializeSafetensors({ 'attn.0': { dtype: 'float32', shape: [1, 2, 3], data } });
    expect(a[0]).toBe(64);
    expect(text(a)).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(new Float32Array(a.slice(72).buffer)).toEqual(data);
    const b = serializeSafetensors({ attn0: { dtype: 'float32', shape: [1, 1, 2, 3], data } });
    expect(b[0]).toBe(72);
    expect(text(b)).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
    expect([...serializeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const m = serializeSafetensors({}, { framework: 'pt' });
    expect(m[0]).toBe(40);
    expect(text(m)).toBe('{"__metadata__":{"framework":"pt"}}     ');
  });

  it('normalises bool bytes to 0/1 and rejects tensors whose dtype, shape and data disagree', () => {
    const out = deserializeSafetensors(serializeSafetensors({ m: { dtype: 'bool', shape: [3], data: Uint8Array.from([0, 7, 255]) } }));
    expect([...out.tensors.m.data]).toEqual([0, 1, 1]);
    const bad: [RawTensor, RegExp][] = [
      [{ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }, /holds 4 elements but data has 3/],
      [{ dtype: 'float32', shape: [2], data: new Float64Array(2) }, /float32 data must be a Float32Array, got Float64Array/],
      [{ dtype: 'int32', shape: [-1], data: new Int32Array(0) }, /not a list of non-negative integers/],
      [{ dtype: 'int64' as never, shape: [1], data: new Int32Array(1) }, /unknown dtype "int64"/],
    ];
    for (const [t, msg] of bad) {
      expect(() => serializeSafetensors({ t })).toThrow(msg);
      expect(() => serializeSafetensors({ t })).toThrow(SafetensorsError);
    }
    expect(() => serializeSafetensors({}, { n: 3 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_METADATA' }));
    expect(() => serializeSafetensors({ __metadata__: everyDtype().u8 })).toThrow(/reserved/);
  });
});

describe('the real llama_tiny checkpoint', () => {
  it('reads shapes from the config (vocab 256, hidden 64, 2 KV heads of 16, MLP 176) and known values', async () => {
    const f = await openSafetensors(LLAMA);
    expect(f.keys()).toHaveLength(21);
    expect(f.info('model.embed_tokens.weight')).toEqual({ dtype: 'float32', storedDtype: 'F32', shape: [256, 64], byteLength: 65536 });
    expect(f.info('model.layers.1.self_attn.k_proj.weight').shape).toEqual([32, 64]);
    expect(f.info('model.layers.0.mlp.down_proj.weight').shape).toEqual([64, 176]);
    expect(f.info('model.norm.weight').shape).toEqual([64]);
    const about = JSON.parse(f.metadata.about) as { config: { vocab_size: number; hidden_size: number } };
    expect(about.config.vocab_size).toBe(256);
    expect(about.config.hidden_size).toBe(64);
    // Values printed by Python's struct.unpack on the same file.
    const lm = (await f.read('lm_head.weight')).data;
    expect(lm[0]).toBe(Math.fround(-0.004434138536453247));
    expect(lm[256 * 64 - 1]).toBe(Math.fround(0.014728797599673271));
    expect((await f.read('model.norm.weight')).data[0]).toBe(Math.fround(0.9664525985717773));
    expect((await f.read('model.layers.1.self_attn.v_proj.weight')).data[5]).toBe(Math.fround(0.010217544622719288));
    expect((await f.read('model.embed_tokens.weight')).data[3 * 64 + 7]).toBe(Math.fround(0.018190404400229454));
    await f.close();
  });

  it('agrees on every tensor with an independent parse of the header and DataView reads', async () => {
    const bytes = new Uint8Array(await readFile(LLAMA));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const n = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
    const f = await openSafetensors(LLAMA);
    for (const [name, h] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = await f.read(name);
      expect(t.shape).toEqual(h.shape);
      const ref = new Float32Array((h.data_offsets[1] - h.data_offsets[0]) / 4);
      for (let i = 0; i < ref.length; i++) ref[i] = view.getFloat32(8 + n + h.data_offsets[0] + 4 * i, true);
      expect(t.data).toEqual(ref);
    }
    await f.close();
  });

  it('reads lazily: opening reads the header only, and read(name) only that tensor', async () => {
    const inner = await fileSource(LLAMA);
    const reads: [number, number][] = [];
    const counting: ByteSource = {
      size: inner.size,
      label: inner.label,
      read: (o, l) => (reads.push([o, l]), inner.read(o, l)),
      close: () => inner.close!(),
    };
    const f = await openSafetensors(counting);
    expect(reads).toEqual([[0, 8], [8, 3136]]);
    await f.read('model.norm.weight');
    expect(reads[2]).toEqual([8 + 3136 + 500736, 256]);
    expect(Math.max(...reads.map((r) => r[1]))).toBeLessThan(inner.size / 4);
    await f.close();
    await counting.close!();
  });
});

describe('integer tensors stored wider than int32', () => {
  it('reads I64 (and U64, U32, I16, U16, I8) as int32 when every value fits', async () => {
    const ids = [0n, 1n, -1n, 2147483647n, -2147483648n, 32000n];
    const file = handMade(
      {
        ids: { dtype: 'I64', shape: [2, 3], data_offsets: [0, 48] },
        u64: { dtype: 'U64', shape: [1], data_offsets: [48, 56] },
        i16: { dtype: 'I16', shape: [2], data_offsets: [56, 60] },
        i8: { dtype: 'I8', shape: [2], data_offsets: [60, 62] },
        u16: { dtype: 'U16', shape: [1], data_offsets: [62, 64] },
        u32: { dtype: 'U32', shape: [1], data_offsets: [64, 68] },
      },
      Uint8Array.from([...int64Bytes(ids), ...int64Bytes([2147483647n]), 0xff, 0xff, 2, 0, 0x80, 5, 0xff, 0xff, 7, 0, 0, 0]),
    );
    const f = await openSafetensors(file);
    expect(f.info('ids')).toEqual({ dtype: 'int32', storedDtype: 'I64', shape: [2, 3], byteLength: 48 });
    const want = { ids: [0, 1, -1, 2147483647, -2147483648, 32000], u64: [2147483647], i16: [-1, 2], i8: [-128, 5], u16: [65535], u32: [7] };
    for (const [name, values] of Object.entries(want)) {
      const t = await f.read(name);
      expect(t.dtype).toBe('int32');
      expect(t.data).toEqual(Int32Array.from(values));
    }
    expect(deserializeSafetensors(file).tensors.ids.data).toEqual(Int32Array.from(want.ids));
  });

  it('reads I64 from a Node Buffer whose data sits at an unaligned offset (Buffer.slice does not copy)', async () => {
    // a 1-byte prefix puts the data of the Buffer view at an odd offset of the underlying ArrayBuffer
    const file = handMade({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, int64Bytes([7n, -3n]));
    const backing = Buffer.alloc(file.byteLength + 1);
    backing.set(file, 1);
    const f = await openSafetensors(backing.subarray(1));
    expect((await f.read('ids')).data).toEqual(Int32Array.from([7, -3]));
  });

  it('names the tensor, the value and its index when a value does not fit', async () => {
    for (const [dtype, bytes, value] of [
      ['I64', int64Bytes([5n, 2147483648n]), '2147483648'],
      ['I64', int64Bytes([5n, -2147483649n]), '-2147483649'],
      ['I64', int64Bytes([5n, 1n << 40n]), '1099511627776'],
      ['U64', int64Bytes([5n, -1n]), '18446744073709551615'],
    ] as const) {
      const f = await openSafetensors(handMade({ 'labels.x': { dtype, shape: [2], data_offsets: [0, 16] } }, bytes));
      const err = await f.read('labels.x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SafetensorsError);
      expect(err).toMatchObject({ code: 'INT_OVERFLOW', tensor: 'labels.x' });
      expect((err as Error).message).toContain(`"labels.x" (${dtype}) holds ${value} at flat index 1`);
    }
  });

  it('opens files with dtypes it cannot represent, failing only on reading those', async () => {
    const f = await openSafetensors(handMade({ q: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] }, w: { dtype: 'U8', shape: [1], data_offsets: [2, 3] } }, Uint8Array.from([1, 2, 3])));
    expect(f.info('q').dtype).toBeNull();
    await expect(f.read('q')).rejects.toMatchObject({ code: 'UNSUPPORTED_DTYPE', tensor: 'q' });
    expect([...(await f.readBytes('q'))]).toEqual([1, 2]);
    expect([...(await f.read('w')).data]).toEqual([3]);
  });
});

describe('files on disk', () => {
  it('replaces a file only when the new one is complete, leaving no temporary file behind', async () => {
    const sub = join(dir, 'atomic');
    await mkdir(sub);
    const path = join(sub, 'w.safetensors');
    await saveSafetensors(path, { a: everyDtype().f32 });
    const before = await readFile(path);
    await expect(saveSafetensors(path, { a: { dtype: 'float32', shape: [9], data: new Float32Array(2) } })).rejects.toThrow(SafetensorsError);
    await mkdir(join(sub, 'adir'));
    await expect(saveSafetensors(join(sub, 'adir'), { a: everyDtype().f32 })).rejects.toThrow();
    expect(await readFile(path)).toEqual(before);
    expect((await readdir(sub)).sort()).toEqual(['adir', 'w.safetensors']);
  });

  it('fails with a typed error when the file shrinks after opening, and after close', async () => {
    const path = join(dir, 'shrinks.safetensors');
    await saveSafetensors(path, everyDtype());
    const f = await openSafetensors(path);
    await truncate(path, (await readFile(path)).byteLength - 2); // 'mask' is stored last
    await expect(f.read('mask')).rejects.toMatchObject({ code: 'READ_FAILED' });
    await f.close();
    await expect(f.read('f32')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(openSafetensors(path)).rejects.toMatchObject({ code: 'OFFSETS_OUT_OF_BOUNDS' });
  });

  it.skipIf(process.platform === 'win32')('reads a tensor past 4 GiB of a 10 GB (sparse) shard at its offset, without buffering the file', async () => {
    const path = join(dir, 'sparse.safetensors');
    const big = 10_000_000_000;
    const file = handMade({ big: { dtype: 'U8', shape: [big], data_offsets: [0, big] }, tail: { dtype: 'F32', shape: [2], data_offsets: [big, big + 8] } });
    const h = await open(path, 'w');
    await h.write(file, 0, file.byteLength, 0);
    await h.write(new Uint8Array(Float32Array.from([1.25, -3]).buffer), 0, 8, file.byteLength + big); // the rest stays a hole
    await h.close();
    expect((await stat(path)).size).toBe(file.byteLength + big + 8);
    await using f = await openSafetensors(path);
    expect(f.info('big')).toEqual({ dtype: 'uint8', storedDtype: 'U8', shape: [big], byteLength: big });
    expect(await f.read('tail')).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.from([1.25, -3]) });
    await rm(path);
  });

  it('reports an unknown tensor name', async () => {
    const f = await openSafetensors(bytesSource(serializeSafetensors(everyDtype())));
    expect(() => f.info('nope')).toThrow(expect.objectContaining({ code: 'TENSOR_NOT_FOUND', tensor: 'nope' }));
    await expect(f.read('nope')).rejects.toThrow(/no tensor named "nope"/);
  });
});
