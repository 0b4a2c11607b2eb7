/**
 * The Tensor: a view (shape, strides, offset) into a refcounted backend storage, plus autograd state.
 * Ops are synchronous and return new tensors; only readback (`await t.data()`) is asynchronous.
 * Op methods (t.add, t.matmul, ...) are installed by ./ops/methods.ts.
 */
import type { Backend, Storage, View } from './backend.ts';
import { getBackend } from './backend.ts';
import type { DType, StorageArray } from './dtype.ts';
import { allocArray, bf16BitsToF32, f16BitsToF32, fromNumbers } from './dtype.ts';
import type { Shape } from './shape.ts';
import { contiguousStrides, fmtShape, isContiguous, numel } from './shape.ts';
import { trackCreated, trackDisposed } from './memory.ts';
import type { GradNode } from './autograd/node.ts';

let nextId = 1;

export class DisposedError extends Error {
  override name = 'DisposedError';
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly storage: Storage;
  /** Whether gradients flow to this tensor (set on leaves by the user; propagated by ops). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The autograd record that produced this tensor (null for leaves and under noGrad). */
  node: GradNode | null = null;
  /** Optional name (parameters carry their checkpoint key). */
  name?: string;
  #disposed = false;

  constructor(storage: Storage, shape: Shape, strides?: Shape, offset = 0, dtype?: DType) {
    this.storage = storage;
    this.shape = [...shape];
    this.strides = strides ? [...strides] : contiguousStrides(shape);
    this.offset = offset;
    this.dtype = dtype ?? storage.dtype;
    storage.refs++;
    trackCreated(this);
  }

  get backend(): Backend {
    return this.storage.backend;
  }
  get rank(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numel(this.shape);
  }
  get isDisposed(): boolean {
    return this.#disposed;
  }
  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** The kernel-facing view of this tensor. */
  kernelView(): View {
    this.assertAlive();
    return { storage: this.storage, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  assertAlive(): void {
    if (this.#disposed) throw new DisposedError(`tensor #${this.id} ${fmtShape(this.shape)} was disposed and cannot be used`);
  }

  /** Releases this tensor's hold on its storage; the memory is freed when nothing else views it. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    trackDisposed(this);
    releaseStorage(this.storage);
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    // The autograd record stays: later records may reach the graph through this tensor. Its private views are
    // released by backward(), or when the graph becomes unreachable (see GradNode).
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The elements in row-major order. float16/bfloat16 are decoded to Float32Array, bool/uint8 come as Uint8Array,
   * int32 as Int32Array, float32/float64 as themselves. Always a copy.
   */
  async data(): Promise<Float32Array | Float64Array | Int32Array | Uint8Array> {
    this.assertAlive();
    const raw = await this.storage.backend.download(this.storage);
    return decode(this.dtype, gatherView(raw, this.dtype, this.shape, this.strides, this.offset));
  }

  /** The elements in the dtype's storage format (float16/bfloat16 as raw 16-bit words), row-major; always a copy. */
  async rawData(): Promise<StorageArray> {
    this.assertAlive();
    const raw = await this.storage.backend.download(this.storage);
    return gatherView(raw, this.dtype, this.shape, this.strides, this.offset).slice();
  }

  /** Synchronous readback; only backends that can (the CPU) support it. */
  dataSync(): Float32Array | Float64Array | Int32Array | Uint8Array {
    this.assertAlive();
    const b = this.storage.backend;
    if (!b.readSync) throw new DisposedError(`dataSync() is not available on the '${b.name}' backend: use await t.data()`);
    return decode(this.dtype, gatherView(b.readSync(this.storage), this.dtype, this.shape, this.strides, this.offset));
  }

  /** Nested JS arrays (numbers; booleans for bool). */
  async toArray(): Promise<unknown> {
    return nest(Array.from(await this.data(), (v) => (this.dtype === 'bool' ? v !== 0 : v)), this.shape);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel !== 1) throw new RangeError(`item() needs a one-element tensor, got ${fmtShape(this.shape)}`);
    return (await this.data())[0];
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.backend.name}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export function releaseStorage(storage: Storage): void {
  storage.refs--;
  if (storage.refs === 0) storage.backend.free(storage);
}

/** Copies the elements a view selects out of a raw storage array into a new contiguous array. */
export function gatherView(raw: StorageArray, dtype: DType, shape: Shape, strides: Shape, offset: number): StorageArray {
  const n = numel(shape);
  if (isContiguous(shape, strides)) return raw.subarray(offset, offset + n);
  const out = allocArray(dtype, n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = raw[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function decode(dtype: DType, a: StorageArray): Float32Array | Float64Array | Int32Array | Uint8Array {
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const f = dtype === 'float16' ? f16BitsToF32 : bf16BitsToF32;
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = f(a[i]);
    return out;
  }
  // Copy (into a plain ArrayBuffer) so callers never alias backend memory.
  const Ctor = a.constructor as new (n: number) => Float32Array | Float64Array | Int32Array | Uint8Array;
  const out = new Ctor(a.length);
  out.set(a);
  return out;
}

function nest(flat: unknown[], shape: Shape): unknown {
  if (shape.length === 0) return flat[0];
  const [d, ...rest] = shape;
  const step = numel(rest);
  return Array.from({ length: d }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), rest));
}

// ---------------------------------------------------------------- creation

export interface CreateOptions {
  dtype?: DType;
  backend?: string | Backend;
  requiresGrad?: boolean;
}

function resolveBackend(b: string | Backend | undefined): Backend {
  return typeof b === 'object' ? b : getBackend(b);
}

/** A tensor from a typed array in the dtype's storage format (f16/bf16 as 16-bit words), without conversion. */
export function fromStorageArray(data: StorageArray, shape: Shape, dtype: DType, opts: CreateOptions = {}): Tensor {
  if (data.length !== numel(shape)) throw new RangeError(`${data.length} values do not fill shape ${fmtShape(shape)}`);
  const backend = resolveBackend(opts.backend);
  const storage = backend.allocate(dtype, data.length, shape);
  backend.upload(storage, data);
  const t = new Tensor(storage, shape, undefined, 0, dtype);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

export type Nested = number | boolean | Nested[];

function flattenNested(data: Nested, shape: number[], out: number[], depth = 0): void {
  if (Array.isArray(data)) {
    if (shape.length <= depth) shape.push(data.length);
    else if (shape[depth] !== data.length) throw new RangeError('ragged nested array: every row must have the same length');
    for (const x of data) flattenNested(x, shape, out, depth + 1);
  } else {
    if (depth !== shape.length) throw new RangeError('ragged nested array: every row must have the same depth');
    out.push(typeof data === 'boolean' ? Number(data) : data);
  }
}

/**
 * A tensor from nested arrays, a typed array (numbers, converted to `dtype`), or a number. The dtype defaults to
 * float32 (int32 for Int32Array, uint8 for Uint8Array, float64 for Float64Array).
 */
export function tensor(data: Nested | ArrayLike<number>, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  let values: ArrayLike<number>;
  let shape: number[];
  if (typeof data === 'number' || typeof data === 'boolean' || Array.isArray(data)) {
    const flat: number[] = [];
    shape = [];
    flattenNested(data, shape, flat);
    values = flat;
  } else {
    values = data;
    shape = [data.length];
  }
  if (opts.shape) shape = [...opts.shape];
  const dtype =
    opts.dtype ??
    (data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'uint8' : data instanceof Float64Array ? 'float64' : 'float32');
  return fromStorageArray(fromNumbers(dtype, values), shape, dtype, opts);
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const v = fromNumbers(dtype, [value])[0];
  const data = allocArray(dtype, numel(shape));
  data.fill(v);
  return fromStorageArray(data, shape, dtype, opts);
}

export const zeros = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 1, opts);

export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, backend: t.backend, ...opts });
}
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, backend: t.backend, ...opts });
}
export function fullLike(t: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, backend: t.backend, ...opts });
}

/** Like torch.arange(start, end, step); `arange(n)` counts 0..n-1. int32 for integer arguments, else float32. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (ints ? 'int32' : 'float32');
  const vals = Array.from({ length: n }, (_, i) => start + i * step);
  return fromStorageArray(fromNumbers(dtype, vals), [n], dtype, opts);
}

/** Like torch.linspace (the second half is computed from the end, as torch does). */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  const vals = Array.from({ length: steps }, (_, i) => (i < half ? start + step * i : end - step * (steps - 1 - i)));
  return fromStorageArray(fromNumbers(dtype, vals), [steps], dtype, opts);
}

export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const vals = new Array<number>(n * m).fill(0);
  for (let i = 0; i < Math.min(n, m); i++) vals[i * m + i] = 1;
  return fromStorageArray(fromNumbers(dtype, vals), [n, m], dtype, opts);
}
