import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesSource, type ByteSource } from './byte-source.ts';
import { SafetensorsError } from './errors.ts';
import { deserializeSafetensors, openSafetensors, serializeSafetensors } from './safetensors.ts';
import { handMade, int64Bytes, rng } from './testing.ts';

const LLAMA = fileURLToPath(new URL('../../test/fixtures/io/llama_tiny.weights.safetensors', import.meta.url));

/** A small file with several dtypes, an I64 tensor and metadata: flips here reach every validation branch. */
function mixedFile(): Uint8Array {
  const body = serializeSafetensors(
    {
      w: { dtype: 'bfloat16', shape: [2, 3], data: Uint16Array.from([1, 2, 3, 4, 5, 6]) },
      b: { dtype: 'float64', shape: [2], data: Float64Array.from([0.5, -1]) },
      m: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
      k: { dtype: 'int32', shape: [1, 1], data: Int32Array.from([9]) },
    },
    { about: 'fuzz' },
  );
  // Append an I64 tensor by rewriting the header by hand.
  const n = body[0] + 256 * body[1];
  const header = JSON.parse(new TextDecoder().decode(body.subarray(8, 8 + n))) as Record<string, unknown>;
  const dataLen = body.byteLength - 8 - n;
  header.ids = { dtype: 'I64', shape: [3], data_offsets: [dataLen, dataLen + 24] };
  return handMade(header, Uint8Array.from([...body.subarray(8 + n), ...int64Bytes([1n, -5n, 31999n])]));
}

interface Outcome {
  ok: boolean;
  code?: string;
  bytesRead: number;
}

/** Open and read every tensor through a source that checks every read stays inside the file. */
async function tryLazy(file: Uint8Array): Promise<Outcome> {
  const inner = bytesSource(file);
  let bytesRead = 0;
  const guarded: ByteSource = {
    size: inner.size,
    label: 'fuzz',
    read(offset, length) {
      expect(offset + length).toBeLessThanOrEqual(file.byteLength);
      bytesRead += length;
      return inner.read(offset, length);
    },
  };
  try {
    const f = await openSafetensors(guarded);
    let elements = 0;
    for (const name of f.keys()) {
      const info = f.info(name);
      const t = await f.read(name).catch((e: unknown) => {
        // A valid file may still hold int64 values that do not fit int32 once flipped.
        if (e instanceof SafetensorsError && e.code === 'INT_OVERFLOW' && info.storedDtype === 'I64') return null;
        throw e;
      });
      if (t !== null) {
        expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        elements += t.data.length;
      }
    }
    expect(elements).toBeLessThanOrEqual(file.byteLength);
    return { ok: true, bytesRead };
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    return { ok: false, code: e.code, bytesRead };
  }
}

function trySync(file: Uint8Array): Outcome {
  try {
    deserializeSafetensors(file);
    return { ok: true, bytesRead: 0 };
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    return { ok: false, code: e.code, bytesRead: 0 };
  }
}

function flip(file: Uint8Array, random: () => number, headerEnd: number): Uint8Array {
  const out = file.slice();
  const flips = 1 + Math.floor(random() * 4);
  for (let i = 0; i < flips; i++) {
    const region = random() < 0.6 ? headerEnd : out.byteLength; // bias towards the header
    out[Math.floor(random() * region)] ^= 1 << Math.floor(random() * 8);
  }
  return out;
}

describe('fuzzing', () => {
  it('random truncations and byte flips give only typed errors or valid reads', async () => {
    const started = performance.now();
    const codes = new Map<string, number>();
    let valid = 0;
    for (const [seed, file] of [[1, new Uint8Array(await readFile(LLAMA))], [2, mixedFile()]] as const) {
      const random = rng(seed);
      const headerEnd = 8 + file[0] + 256 * file[1];
      const cases: [Uint8Array, boolean][] = [];
      for (let i = 0; i < 120; i++) {
        const cut = random() < 0.5 ? Math.floor(random() * headerEnd) : Math.floor(random() * file.byteLength);
        cases.push([file.subarray(0, cut), true]);
      }
      for (let i = 0; i < 200; i++) cases.push([flip(file, random, headerEnd), false]);
      for (const [bytes, truncated] of cases) {
        const lazy = await tryLazy(bytes);
        const sync = trySync(bytes);
        if (truncated) expect(lazy.ok).toBe(false); // a truncated file can never cover its data section
        expect(lazy.bytesRead).toBeLessThanOrEqual(bytes.byteLength);
        if (lazy.ok) valid++;
        else {
          codes.set(lazy.code!, (codes.get(lazy.code!) ?? 0) + 1);
          // The eager decoder agrees on header problems (it fails on the first bad tensor, the lazy one only on read).
          if (lazy.code !== 'INT_OVERFLOW') expect(sync.code).toBe(lazy.code);
        }
      }
    }
    expect(valid).toBeGreaterThan(50); // flips in tensor data still read
    for (const code of ['FILE_TOO_SMALL', 'HEADER_LENGTH', 'HEADER_NOT_JSON', 'OFFSETS_OUT_OF_BOUNDS']) expect(codes.get(code)).toBeGreaterThan(0);
    expect(codes.size).toBeGreaterThanOrEqual(7);
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('truncated files on disk give typed errors through the Node file source', async () => {
    const file = new Uint8Array(await readFile(LLAMA));
    const dir = await mkdtemp(join(tmpdir(), 'segllm-fuzz-'));
    const random = rng(3);
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `cut${i}.safetensors`);
      await writeFile(path, file.subarray(0, Math.floor(random() * file.byteLength)));
      const err = await openSafetensors(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SafetensorsError);
    }
    await rm(dir, { recursive: true });
  });
});
