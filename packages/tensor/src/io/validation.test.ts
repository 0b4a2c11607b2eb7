import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, type SafetensorsErrorCode } from './errors.ts';
import { deserializeSafetensors, openSafetensors } from './safetensors.ts';
import { handMade } from './testing.ts';

const f32 = (shape: unknown, data_offsets: unknown) => ({ dtype: 'F32', shape, data_offsets });
function lengthOnly(n: bigint, total: number): Uint8Array {
  const out = new Uint8Array(total);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}
function withHeaderBytes(header: number[]): Uint8Array {
  return Uint8Array.from([header.length, 0, 0, 0, 0, 0, 0, 0, ...header]);
}

/** [what, file bytes, expected code, a phrase the message must contain] */
const CASES: [string, Uint8Array, SafetensorsErrorCode, string][] = [
  ['an empty file', new Uint8Array(0), 'FILE_TOO_SMALL', 're-download'],
  ['a 5-byte file', new Uint8Array(5), 'FILE_TOO_SMALL', 'shorter than the 8-byte'],
  ['a header over 100 MB', lengthOnly(100_000_001n, 64), 'HEADER_TOO_LARGE', '100 MB'],
  ['a header length of 2^64-1', lengthOnly(2n ** 64n - 1n, 64), 'HEADER_TOO_LARGE', '18446744073709551615'],
  ['a header past the end', lengthOnly(100n, 50), 'HEADER_LENGTH', 'looks truncated'],
  ['invalid UTF-8', withHeaderBytes([0x7b, 0xff, 0xfe, 0x7d]), 'HEADER_NOT_UTF8', 'UTF-8'],
  ['cut-off JSON', handMade('{"a":'), 'HEADER_NOT_JSON', 'not valid JSON'],
  ['a JSON array', handMade('[1,2]'), 'HEADER_NOT_OBJECT', 'not an object'],
  ['JSON null', handMade('null'), 'HEADER_NOT_OBJECT', 'not an object'],
  ['numeric metadata', handMade({ __metadata__: { a: 1 } }), 'INVALID_METADATA', 'strings to strings'],
  ['string metadata', handMade({ __metadata__: 'x' }), 'INVALID_METADATA', 'strings to strings'],
  ['a number as entry', handMade({ t: 5 }), 'INVALID_ENTRY', '"t"'],
  ['an unknown dtype', handMade({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), 'UNKNOWN_DTYPE', 'unknown dtype "F128"'],
  ['a missing dtype', handMade({ t: { shape: [1], data_offsets: [0, 4] } }, 4), 'UNKNOWN_DTYPE', 'undefined'],
  ['a negative dim', handMade({ t: f32([-1], [0, 4]) }, 4), 'INVALID_SHAPE', '[-1]'],
  ['a fractional dim', handMade({ t: f32([1.5], [0, 4]) }, 4), 'INVALID_SHAPE', 'non-negative integers'],
  ['a string shape', handMade({ t: f32('3', [0, 12]) }, 12), 'INVALID_SHAPE', '"3"'],
  ['an infinite dim', handMade('{"t":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}', 4), 'INVALID_SHAPE', 'shape'],
  ['reversed offsets', handMade({ t: f32([1], [4, 0]) }, 4), 'INVALID_OFFSETS', '[4,0]'],
  ['one offset', handMade({ t: f32([1], [4]) }, 4), 'INVALID_OFFSETS', 'data_offsets'],
  ['negative offsets', handMade({ t: f32([1], [-4, 0]) }, 4), 'INVALID_OFFSETS', 'data_offsets'],
  ['shape x itemsize != span', handMade({ t: f32([2, 2], [0, 12]) }, 12), 'SIZE_MISMATCH', 'needs 16 bytes but data_offsets span 12'],
  ['a shape too large to count', handMade({ t: f32([2 ** 40, 2 ** 40], [0, 8]) }, 8), 'SIZE_MISMATCH', 'more than 2^53 bits'],
  ['a tensor past the data', handMade({ t: f32([4], [0, 16]) }, 8), 'OFFSETS_OUT_OF_BOUNDS', 'looks truncated'],
  ['overlapping tensors', handMade({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12), 'OVERLAP', '"a" [0, 8) and "b" [4, 12) overlap'],
  ['a hole between tensors', handMade({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12), 'GAP', 'bytes [4, 8) before tensor "b"'],
  ['bytes after the last tensor', handMade({ a: f32([1], [0, 4]) }, 8), 'TRAILING_BYTES', 'cover 4 bytes but the data section has 8'],
];

describe('header validation', () => {
  it.each(CASES)('rejects %s with a typed error', async (_what, bytes, code, phrase) => {
    const sync = (() => {
      try {
        deserializeSafetensors(bytes, 'case.safetensors');
      } catch (e) {
        return e;
      }
    })();
    const lazy = await openSafetensors(bytes).catch((e: unknown) => e);
    for (const err of [sync, lazy]) {
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as SafetensorsError).code).toBe(code);
      expect((err as Error).message).toContain(phrase);
    }
    expect((sync as Error).message.startsWith('case.safetensors: ')).toBe(true);
  });

  it('accepts what the reference accepts: empty files, zero-size tensors, null metadata, extra fields, padding', async () => {
    expect(deserializeSafetensors(handMade('{}')).tensors).toEqual({});
    const file = handMade(
      ' {"__metadata__":null,"z":{"dtype":"I32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"I32","shape":[],"data_offsets":[0,4],"extra":1},"e":{"dtype":"BOOL","shape":[3,0],"data_offsets":[4,4]}}   ',
      Uint8Array.from([7, 0, 0, 0]),
    );
    const f = await openSafetensors(file);
    expect(f.keys().sort()).toEqual(['a', 'e', 'z']);
    expect(f.metadata).toEqual({});
    expect([...(await f.read('a')).data]).toEqual([7]);
    expect(await f.read('e')).toEqual({ dtype: 'bool', shape: [3, 0], data: new Uint8Array(0) });
  });

  it('names the file on disk in the error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'segllm-stv-'));
    const path = join(dir, 'empty.safetensors');
    await writeFile(path, new Uint8Array(0));
    await expect(openSafetensors(path)).rejects.toMatchObject({ code: 'FILE_TOO_SMALL', file: path });
    await expect(openSafetensors(join(dir, 'absent.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(dir, { recursive: true });
  });
});
