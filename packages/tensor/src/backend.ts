/**
 * The backend interface: allocation, upload, download, free, running a named kernel, and capability queries.
 * Op definitions never mention a particular backend; each backend registers kernels by op name.
 */
import type { DType, StorageArray } from './dtype.ts';
import type { Shape } from './shape.ts';
import type { KernelAttrs, KernelName } from './kernels.ts';

/** A backend-owned block of memory holding `numel` elements of `dtype`, shared by the tensors that view it. */
export interface Storage {
  readonly backend: Backend;
  readonly dtype: DType;
  readonly numel: number;
  /** Backend-specific handle (a typed array on the CPU, GPU buffers on WebGPU). */
  readonly handle: unknown;
  /** Number of live tensors (and autograd records) that reference this storage. */
  refs: number;
}

/** What a kernel sees of a tensor: its storage and the view into it. */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
}

/** Attrs seen generically (helpers shared by several kernels); each kernel's own type is `KernelAttrs[name]`. */
export type Attrs = Record<string, unknown>;

export interface Backend {
  readonly name: string;
  /** `shape` (optional) lets a backend lay out a storage it must split (WebGPU keeps whole rows of the last dim per buffer). */
  allocate(dtype: DType, numel: number, shape?: Shape): Storage;
  upload(storage: Storage, data: StorageArray): void;
  download(storage: Storage): Promise<StorageArray>;
  /** Synchronous readback where the backend can do it (the CPU); undefined elsewhere. */
  readSync?(storage: Storage): StorageArray;
  free(storage: Storage): void;
  /** Runs kernel `op`, reading `inputs` and writing `outputs` (fresh contiguous tensors, or views for in-place ops). */
  run<K extends KernelName>(op: K, inputs: View[], outputs: View[], attrs: KernelAttrs[K]): void;
  supports(op: KernelName, dtype: DType): boolean;
  /** Waits for queued work (no-op on synchronous backends). */
  sync?(): Promise<void>;
  memoryStats?(): MemoryStats;
  info?(): Record<string, unknown>;
}

export interface MemoryStats {
  /** Bytes held by live storages. */
  live: number;
  /** Bytes held in the pool, free for reuse. */
  pooled: number;
  /** Bytes allocated from the device in total (live + pooled + pending). */
  allocated: number;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

const backends = new Map<string, Backend>();
let defaultName = 'cpu';

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getBackend(name?: string): Backend {
  const b = backends.get(name ?? defaultName);
  if (!b) {
    throw new BackendError(
      `backend '${name ?? defaultName}' is not initialised: call initWebGPU() (or register it) first; available: ${[...backends.keys()].join(', ')}`,
    );
  }
  return b;
}

export function hasBackend(name: string): boolean {
  return backends.has(name);
}

export function unregisterBackend(name: string): void {
  backends.delete(name);
  if (defaultName === name) defaultName = 'cpu';
}

export function setDefaultBackend(name: string): void {
  getBackend(name);
  defaultName = name;
}

export function defaultBackendName(): string {
  return defaultName;
}

export function listBackends(): string[] {
  return [...backends.keys()];
}
