/**
 * Reading and writing safetensors at the raw level: typed arrays + dtype + shape.
 * Reads are lazy (one tensor at a time from a ByteSource); writes stream tensor by tensor into a temporary
 * file that is renamed over the target only when complete.
 */
import { allocArray, DTYPES, itemSize, type DType, type StorageArray } from '../dtype.ts';
import { blobSource, bytesSource, fileSource, type ByteSource } from './byte-source.ts';
import { SafetensorsError } from './errors.ts';
import { nodeFs, nodePath as pathModule } from '#platform';
import {
  buildHeader, compareCodePoints, parseHeader, readHeaderLength, stDtypeRank, toStDtype,
  type ParsedHeader, type StDtype, type TensorEntry,
} from './format.ts';
import { preview } from '../preview.ts';

export interface RawTensor {
  dtype: DType;
  shape: number[];
  /** Row-major, little-endian storage (f16/bf16 as raw 16-bit words, bool as 0/1 bytes). */
  data: StorageArray;
}

export interface StoredTensorInfo {
  /** The dtype `read` returns (int32 for I64/U64/U32/I16/U16/I8), or null when it cannot be read (F8, F4, F6). */
  dtype: DType | null;
  /** The dtype as stored in the file ('F32', 'I64', ...). */
  storedDtype: StDtype;
  shape: number[];
  /** Bytes the tensor occupies in the file. */
  byteLength: number;
}

/** What single files and sharded checkpoints both offer. `info` may be async (a shard may need opening). */
export interface TensorStore {
  readonly metadata: Readonly<Record<string, unknown>>;
  keys(): string[];
  has(name: string): boolean;
  info(name: string): StoredTensorInfo | Promise<StoredTensorInfo>;
  read(name: string): Promise<RawTensor>;
  close(): Promise<void>;
}

export type SafetensorsInput = string | ByteSource | Uint8Array | ArrayBuffer | Blob;

/** One safetensors file, its header parsed and validated; tensors are read on demand. */
export class SafetensorsFile implements TensorStore {
  private closed = false;

  private constructor(
    private readonly source: ByteSource,
    private readonly header: ParsedHeader,
    private readonly ownsSource: boolean,
  ) {}

  /** Parse and validate the header of `source`; closes nothing on success, the source on failure if owned. */
  static async fromSource(source: ByteSource, ownsSource = false): Promise<SafetensorsFile> {
    try {
      const n = readHeaderLength(source.size >= 8 ? await source.read(0, 8) : new Uint8Array(0), source.size, source.label);
      const header = parseHeader(await source.read(8, n), source.size, source.label);
      return new SafetensorsFile(source, header, ownsSource);
    } catch (e) {
      if (ownsSource) await source.close?.();
      throw e;
    }
  }

  get label(): string {
    return this.source.label;
  }
  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }
  /** Tensor names in the order of their data in the file. */
  keys(): string[] {
    return this.header.entries.map((e) => e.name);
  }
  has(name: string): boolean {
    return this.header.byName.has(name);
  }
  info(name: string): StoredTensorInfo {
    const e = this.entry(name);
    return { dtype: e.dtype, storedDtype: e.stDtype, shape: [...e.shape], byteLength: e.end - e.begin };
  }

  /** The stored bytes of a tensor, copied (for dtypes `read` cannot convert). */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    this.checkOpen();
    const out = allocate(e.end - e.begin, 'uint8', e.name, this.label) as Uint8Array;
    await readInto(this.source, this.header.dataOffset + e.begin, out);
    return out;
  }

  async read(name: string): Promise<RawTensor> {
    const e = this.entry(name);
    this.checkOpen();
    const offset = this.header.dataOffset + e.begin;
    if (e.dtype === null) unsupported(e, this.label);
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.dtype === 'int32' && e.stDtype !== 'I32') {
      const bytes = await this.source.read(offset, e.end - e.begin);
      return { dtype: 'int32', shape: [...e.shape], data: toInt32(e, bytes, this.label) };
    }
    const data = allocate(n, e.dtype, e.name, this.label);
    await readInto(this.source, offset, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (e.dtype === 'bool') for (let i = 0; i < data.length; i++) data[i] = data[i] ? 1 : 0;
    return { dtype: e.dtype, shape: [...e.shape], data };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsSource) await this.source.close?.();
  }
  /** `await using file = await openSafetensors(path)` closes it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private entry(name: string): TensorEntry {
    const e = this.header.byName.get(name);
    if (e === undefined) {
      throw new SafetensorsError('TENSOR_NOT_FOUND', `no tensor named "${name}" (the file has ${this.header.entries.length}): check the name and any prefix`, { file: this.label, tensor: name });
    }
    return e;
  }
  private checkOpen(): void {
    if (this.closed) throw new SafetensorsError('CLOSED', 'this safetensors file was closed: open it again to read', { file: this.label });
  }
}

/**
 * Open a safetensors file lazily: a path (Node), a ByteSource, bytes in memory, or a Blob/File (browser).
 * Only the header is read now; `read(name)` fetches one tensor.
 */
export async function openSafetensors(input: SafetensorsInput): Promise<SafetensorsFile> {
  if (typeof input === 'string') return SafetensorsFile.fromSource(await fileSource(input), true);
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return SafetensorsFile.fromSource(bytesSource(input));
  if (typeof Blob !== 'undefined' && input instanceof Blob) return SafetensorsFile.fromSource(blobSource(input));
  return SafetensorsFile.fromSource(input as ByteSource);
}

/** Decode every tensor of an in-memory file at once (synchronous; data is copied out of `bytes`). */
export function deserializeSafetensors(input: Uint8Array | ArrayBuffer, label = '<bytes>'): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, label);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength, label);
  const out: [string, RawTensor][] = [];
  for (const e of header.entries) {
    const span = bytes.subarray(header.dataOffset + e.begin, header.dataOffset + e.end);
    if (e.dtype === null) unsupported(e, label);
    if (e.dtype === 'int32' && e.stDtype !== 'I32') {
      out.push([e.name, { dtype: 'int32', shape: [...e.shape], data: toInt32(e, span, label) }]);
      continue;
    }
    const data = allocate(span.byteLength / itemSize(e.dtype), e.dtype, e.name, label);
    new Uint8Array(data.buffer).set(span);
    if (e.dtype === 'bool') for (let i = 0; i < data.length; i++) data[i] = data[i] ? 1 : 0;
    out.push([e.name, { dtype: e.dtype, shape: [...e.shape], data }]);
  }
  return { tensors: Object.fromEntries(out), metadata: { ...header.metadata } };
}

// ---- reading helpers ----

function unsupported(e: TensorEntry, file: string): never {
  throw new SafetensorsError(
    'UNSUPPORTED_DTYPE',
    `tensor "${e.name}" is ${e.stDtype}, which this library cannot represent: convert it (e.g. to F16/F32) before export, or read its raw bytes with SafetensorsFile.readBytes()`,
    { file, tensor: e.name },
  );
}

function allocate(n: number, dtype: DType, tensor: string, file: string): StorageArray {
  try {
    return allocArray(dtype, n);
  } catch (cause) {
    throw new SafetensorsError('TOO_LARGE', `tensor "${tensor}" (${n} x ${dtype}) is larger than this runtime can allocate in one array`, { file, tensor, cause });
  }
}

async function readInto(source: ByteSource, offset: number, target: Uint8Array): Promise<void> {
  if (source.readInto) await source.readInto(offset, target);
  else target.set(await source.read(offset, target.byteLength));
}

/** A copy of `bytes` when its offset is not a multiple of `size` (typed views need alignment). */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  // new Uint8Array(view) copies; a Node Buffer's slice() would return another unaligned view.
  return bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
}

function overflow(e: TensorEntry, index: number, value: bigint | number, file: string): never {
  throw new SafetensorsError(
    'INT_OVERFLOW',
    `tensor "${e.name}" (${e.stDtype}) holds ${value} at flat index ${index}, outside int32 [-2147483648, 2147483647]: ` +
      'int64 tensors are read as int32, so keep their values (token ids, targets) below 2^31 when exporting',
    { file, tensor: e.name },
  );
}

/** Widen or narrow a stored integer tensor to int32, failing on the first value int32 cannot hold. */
function toInt32(e: TensorEntry, raw: Uint8Array, file: string): Int32Array {
  const size = e.stDtype === 'I8' ? 1 : e.stDtype === 'I16' || e.stDtype === 'U16' ? 2 : e.stDtype === 'U32' ? 4 : 8;
  const bytes = aligned(raw, size);
  const n = bytes.byteLength / size;
  const out = allocate(n, 'int32', e.name, file) as Int32Array;
  const { buffer, byteOffset } = bytes;
  if (e.stDtype === 'I8') out.set(new Int8Array(buffer, byteOffset, n));
  else if (e.stDtype === 'I16') out.set(new Int16Array(buffer, byteOffset, n));
  else if (e.stDtype === 'U16') out.set(new Uint16Array(buffer, byteOffset, n));
  else if (e.stDtype === 'U32') {
    const src = new Uint32Array(buffer, byteOffset, n);
    for (let i = 0; i < n; i++) if (src[i] > 0x7fffffff) overflow(e, i, src[i], file);
    out.set(src);
  } else {
    // 64-bit little-endian: (lo, hi) word pairs; the value fits int32 iff hi is lo's sign extension.
    const words = new Int32Array(buffer, byteOffset, 2 * n);
    const signed = e.stDtype === 'I64';
    for (let i = 0; i < n; i++) {
      const lo = words[2 * i];
      const hi = words[2 * i + 1];
      if (signed ? hi !== lo >> 31 : hi !== 0 || lo < 0) {
        const view = new DataView(buffer, byteOffset + 8 * i, 8);
        overflow(e, i, signed ? view.getBigInt64(0, true) : view.getBigUint64(0, true), file);
      }
      out[i] = lo;
    }
  }
  return out;
}

// ---- writing ----

const STORAGE: Record<DType, new (n: number) => StorageArray> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array,
  int32: Int32Array, uint8: Uint8Array, bool: Uint8Array,
};

export type RawTensorMap = Record<string, RawTensor> | ReadonlyMap<string, RawTensor>;

interface Prepared {
  header: Uint8Array;
  chunks: Uint8Array[];
}

function checkTensor(name: string, t: RawTensor): Uint8Array {
  const bad = (what: string): never => {
    throw new SafetensorsError('INVALID_TENSOR', `cannot write tensor "${name}": ${what}`, { tensor: name });
  };
  if (name === '__metadata__') bad('"__metadata__" is reserved for the metadata map; rename the tensor');
  if (!DTYPES.includes(t.dtype)) bad(`unknown dtype ${preview(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`shape ${preview(t.shape)} is not a list of non-negative integers`);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  if (!(t.data instanceof STORAGE[t.dtype])) bad(`${t.dtype} data must be a ${STORAGE[t.dtype].name}, got ${(t.data as object)?.constructor?.name ?? typeof t.data}`);
  if (t.data.length !== numel) bad(`shape [${t.shape.join(', ')}] holds ${numel} elements but data has ${t.data.length}`);
  let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.dtype === 'bool' && bytes.some((v) => v > 1)) bytes = bytes.map((v) => (v ? 1 : 0));
  return bytes;
}

function checkMetadata(metadata: Record<string, string> | undefined): void {
  if (metadata === undefined) return;
  if (typeof metadata !== 'object' || metadata === null || !Object.values(metadata).every((v) => typeof v === 'string')) {
    throw new SafetensorsError('INVALID_METADATA', 'metadata must map strings to strings: JSON.stringify structured values first');
  }
}

/** Order like the reference writer (dtype rank descending, then name), assign offsets, build the header. */
function prepare(tensors: RawTensorMap, metadata: Record<string, string> | undefined): Prepared {
  checkMetadata(metadata);
  const list = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [string, RawTensor][];
  const items = list.map(([name, t]) => {
    const bytes = checkTensor(name, t);
    return { name, st: toStDtype(t.dtype), bytes, shape: t.shape };
  });
  items.sort((a, b) => stDtypeRank(b.st) - stDtypeRank(a.st) || compareCodePoints(a.name, b.name));
  let offset = 0;
  const entries: TensorEntry[] = items.map((it) => {
    const begin = offset;
    offset += it.bytes.byteLength;
    return { name: it.name, stDtype: it.st, dtype: null, shape: [...it.shape], begin, end: offset };
  });
  return { header: buildHeader(entries, metadata), chunks: items.map((it) => it.bytes) };
}

function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

/** The bytes of a safetensors file holding `tensors` (byte-identical to the reference writer's output). */
export function serializeSafetensors(tensors: RawTensorMap, metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const { header, chunks } = prepare(tensors, metadata);
  const total = 8 + header.byteLength + chunks.reduce((a, c) => a + c.byteLength, 0);
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = new Uint8Array(total);
  } catch (cause) {
    throw new SafetensorsError('TOO_LARGE', `${total} bytes do not fit one in-memory buffer: use saveSafetensors to stream to a file`, { cause });
  }
  out.set(lengthPrefix(header.byteLength), 0);
  out.set(header, 8);
  let pos = 8 + header.byteLength;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

const WRITE_CHUNK = 1 << 26;

/**
 * Write `tensors` to `path` (Node): streamed into a temporary file beside it, flushed, then renamed over `path`,
 * so an interrupted save leaves any previous file intact.
 */
export async function saveSafetensors(path: string, tensors: RawTensorMap, metadata?: Record<string, string>): Promise<void> {
  const { header, chunks } = prepare(tensors, metadata);
  const fs = await nodeFs(`saving ${path}`);
  const nodePath = await pathModule(`saving ${path}`);
  const tmp = nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const handle = await fs.open(tmp, 'wx');
  try {
    let pos = 0;
    for (const part of [lengthPrefix(header.byteLength), header, ...chunks]) {
      for (let done = 0; done < part.byteLength; ) {
        const { bytesWritten } = await handle.write(part, done, Math.min(WRITE_CHUNK, part.byteLength - done), pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, path);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}
