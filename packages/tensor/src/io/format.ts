/**
 * The safetensors layout: 8-byte little-endian header length N, N bytes of JSON header, then the data section.
 * Validation follows the reference Rust implementation (huggingface/safetensors, `read_metadata`/`validate`):
 * header at most 100 MB; tensors sorted by offsets must tile the data section exactly from 0 to its end
 * (no overlap, no hole, no trailing bytes); each span must equal numel x itemsize.
 */
import type { DType } from '../dtype.ts';
import { SafetensorsError } from './errors.ts';
import { preview } from '../preview.ts';

export const MAX_HEADER_SIZE = 100_000_000;

/** safetensors dtype names, in the reference enum's order (the writer sorts by this order, descending). */
export const ST_DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
] as const;
export type StDtype = (typeof ST_DTYPES)[number];

const BITS: Record<StDtype, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64,
};

const TO_ST: Record<DType, StDtype> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int32: 'I32', uint8: 'U8', bool: 'BOOL',
};

/** The dtype a stored dtype reads as: exact for ours, int32 for the other integers (checked), null if unreadable. */
const READ_AS: Partial<Record<StDtype, DType>> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I32: 'int32', U8: 'uint8', BOOL: 'bool',
  I64: 'int32', U64: 'int32', U32: 'int32', I16: 'int32', U16: 'int32', I8: 'int32',
};

export function toStDtype(dtype: DType): StDtype {
  return TO_ST[dtype];
}
export function readDtypeOf(st: StDtype): DType | null {
  return READ_AS[st] ?? null;
}
export function stDtypeRank(st: StDtype): number {
  return ST_DTYPES.indexOf(st);
}
export function stItemBits(st: StDtype): number {
  return BITS[st];
}

export interface TensorEntry {
  name: string;
  stDtype: StDtype;
  /** What `read` returns, or null when this library cannot represent the stored dtype. */
  dtype: DType | null;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** Byte offset of the data section in the file (8 + N). */
  dataOffset: number;
  /** Entries in data-offset order. */
  entries: TensorEntry[];
  byName: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Read N from the first 8 bytes and check it against the file size. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsError(
      'FILE_TOO_SMALL',
      `${fileSize} bytes is shorter than the 8-byte header length of a safetensors file: ` +
        'the file is empty or truncated (re-download it), or it is not a safetensors file',
      { file },
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) {
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `the header claims ${n} bytes, above the 100 MB limit: the file is corrupt or not a safetensors file`,
      { file },
    );
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new SafetensorsError(
      'HEADER_LENGTH',
      `the header claims ${len} bytes but only ${fileSize - 8} follow the length field: ` +
        'the file looks truncated (re-download it) or is not a safetensors file',
      { file },
    );
  }
  return len;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parse and validate the N header bytes of a file of `fileSize` bytes. */
export function parseHeader(bytes: Uint8Array, fileSize: number, file: string): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new SafetensorsError('HEADER_NOT_UTF8', 'the header is not valid UTF-8: the file is corrupt; re-download it', { file, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    throw new SafetensorsError('HEADER_NOT_JSON', `the header is not valid JSON (${msg}): the file is corrupt; re-download it`, { file, cause });
  }
  if (!isRecord(json)) {
    throw new SafetensorsError('HEADER_NOT_OBJECT', 'the header is JSON but not an object of tensors: this is not a safetensors file', { file });
  }
  const dataSize = fileSize - 8 - bytes.byteLength;
  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (raw === null) continue;
      if (!isRecord(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new SafetensorsError('INVALID_METADATA', '__metadata__ must map strings to strings: fix the writer that made this file', { file });
      }
      metadata = Object.fromEntries(Object.entries(raw)) as Record<string, string>;
      continue;
    }
    entries.push(parseEntry(name, raw, file));
  }
  for (const e of entries) {
    if (e.end > dataSize) {
      throw new SafetensorsError(
        'OFFSETS_OUT_OF_BOUNDS',
        `tensor "${e.name}" spans bytes [${e.begin}, ${e.end}) but the data section has only ${dataSize} bytes: ` +
          'the file looks truncated; re-download it',
        { file, tensor: e.name },
      );
    }
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: TensorEntry | undefined;
  for (const e of entries) {
    if (e.begin < pos) {
      throw new SafetensorsError(
        'OVERLAP',
        `tensors "${prev!.name}" [${prev!.begin}, ${prev!.end}) and "${e.name}" [${e.begin}, ${e.end}) overlap: the header is corrupt; re-download or re-export the file`,
        { file, tensor: e.name },
      );
    }
    if (e.begin > pos) {
      throw new SafetensorsError(
        'GAP',
        `bytes [${pos}, ${e.begin}) before tensor "${e.name}" belong to no tensor, which the format forbids: re-export the file with a safetensors writer`,
        { file, tensor: e.name },
      );
    }
    pos = e.end;
    prev = e;
  }
  if (pos !== dataSize) {
    throw new SafetensorsError(
      'TRAILING_BYTES',
      `the tensors cover ${pos} bytes but the data section has ${dataSize}: the file has extra bytes at its end (an interrupted overwrite?); re-download it`,
      { file },
    );
  }
  return { dataOffset: 8 + bytes.byteLength, entries, byName: new Map(entries.map((e) => [e.name, e])), metadata };
}

function parseEntry(name: string, raw: unknown, file: string): TensorEntry {
  const fail = (code: 'INVALID_ENTRY' | 'UNKNOWN_DTYPE' | 'INVALID_SHAPE' | 'INVALID_OFFSETS' | 'SIZE_MISMATCH', what: string): never => {
    throw new SafetensorsError(code, `tensor "${name}": ${what}`, { file, tensor: name });
  };
  if (!isRecord(raw)) return fail('INVALID_ENTRY', 'its header entry is not an object {dtype, shape, data_offsets}: the header is corrupt; re-download the file');
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !(ST_DTYPES as readonly string[]).includes(dtype)) {
    return fail('UNKNOWN_DTYPE', `unknown dtype ${preview(dtype)} (known: ${ST_DTYPES.join(', ')}): the file is corrupt or from a newer safetensors version`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    return fail('INVALID_SHAPE', `shape ${preview(shape)} is not a list of non-negative integers: the header is corrupt; re-download the file`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isIndex(offsets[0]) || !isIndex(offsets[1]) || offsets[1] < offsets[0]) {
    return fail('INVALID_OFFSETS', `data_offsets ${preview(offsets)} is not [begin, end] with 0 <= begin <= end: the header is corrupt; re-download the file`);
  }
  const st = dtype as StDtype;
  const begin = offsets[0];
  const end = offsets[1];
  // numel x bits, stopping once it exceeds any possible span so the product stays exact.
  let bits = shape.includes(0) ? 0 : BITS[st];
  for (const d of shape) bits = bits * d > Number.MAX_SAFE_INTEGER ? Infinity : bits * d;
  if (bits % 8 !== 0 || bits / 8 !== end - begin) {
    fail('SIZE_MISMATCH', `shape [${shape.join(', ')}] of ${st} needs ${bits === Infinity ? 'more than 2^53 bits' : `${bits / 8} bytes`} but data_offsets span ${end - begin}: the header is corrupt; re-download the file`);
  }
  return { name, stDtype: st, dtype: readDtypeOf(st), shape, begin, end };
}

/** Compare strings by code point, as Rust compares UTF-8 bytes (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  while (true) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** The header bytes the reference writer makes: `__metadata__` first, entries in the given order, space-padded to 8. */
export function buildHeader(entries: readonly TensorEntry[], metadata: Record<string, string> | undefined): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const e of entries) {
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.stDtype}","shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${e.end}]}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded > MAX_HEADER_SIZE) {
    throw new SafetensorsError('HEADER_TOO_LARGE', `the header would be ${padded} bytes, above the 100 MB limit readers accept: split the checkpoint into shards`);
  }
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
}
