/// <reference types="@webgpu/types" />
/**
 * The WebGPU runtime: buffers from a pool in size classes (a freed buffer is reusable once the submission that last
 * used it has been submitted, or completed: see `BufferReuse`), dispatches recorded into one command encoder and
 * submitted on readback or every `maxBatch` dispatches (work on a pipeline still compiling asynchronously is kept
 * in order and encoded once it is ready), uniforms from a per-submission arena, readback through a staging-buffer
 * pool. The device is created by ./device.ts, pipelines come from ./pipelines.ts, waiting is shaped by ./wait.ts.
 * Kernels call `dispatch()`; the backend (./backend.ts) owns storages.
 */
import { BackendError } from '../../backend.ts';
import type { WaitMode } from './wait.ts';
import { WaitPolicy } from './wait.ts';
import type { PipeInfo, PipelineStats } from './pipelines.ts';
import { PipelineCache } from './pipelines.ts';

export { bindingsOf, type PipelineStats } from './pipelines.ts';


/** One pooled GPU buffer. `lastUse` is the serial of the last submission that referenced it. */
export interface GpuBuf {
  readonly buffer: GPUBuffer;
  readonly size: number;
  lastUse: number;
  /** Identity for bind group cache keys (set by the runtime; others fall back to a WeakMap). */
  readonly id?: number;
}

/** Submit after this many recorded dispatches even without a readback. */
const MAX_BATCH = 64;
/** Uniform bytes per submission (one 256-byte slot per dispatch at least). */
const ARENA_BYTES = 64 * 1024;
const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x08; /* COPY_DST */
const STAGING_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */

/** A command recorded while a pipeline it needs is still compiling (replayed in order by flush). */
type Deferred =
  | { info: PipeInfo; bg: GPUBindGroup; off: number; groups: [number, number, number] }
  | { src: GPUBuffer; srcOff: number; dst: GPUBuffer; dstOff: number; bytes: number };

/** Bind groups kept before the cache is cleared (they reference pooled buffers, which live on anyway). */
const BIND_GROUP_CACHE = 4096;

const bufIds = new WeakMap<GPUBuffer, number>();
let nextBufId = 1;
function bufId(b: GPUBuffer): number {
  let id = bufIds.get(b);
  if (id === undefined) bufIds.set(b, (id = nextBufId++));
  return id;
}

/** Size classes: powers of two below 4 KiB, then 2^k * {1, 1.25, 1.5, 1.75} (at most 25% slack). */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const p = 2 ** Math.floor(Math.log2(b));
  const q = p / 4;
  return Math.ceil(b / q) * q;
}

/**
 * When a freed buffer may be handed out again. 'submitted' (default): once the command buffer that last used it has
 * been submitted. That is safe because every later use (dispatch, copy, queue.writeBuffer) is ordered after that
 * submission on the one queue; only a buffer used by the encoder still being recorded must wait, since a
 * writeBuffer would run before it. It keeps memory flat in long synchronous loops, where completion callbacks
 * cannot run until the program awaits. 'completed': wait for the GPU to finish that submission (the conservative
 * rule; freed memory accumulates until the JS event loop runs).
 */
export type BufferReuse = 'submitted' | 'completed';

export const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix'] as const;

function listFeatures(a: GPUAdapter): string[] {
  try {
    return [...(a.features as unknown as Iterable<string>)];
  } catch {
    return WANTED_FEATURES.filter((f) => a.features.has(f));
  }
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly features: ReadonlySet<string>;
  readonly adapterInfo: Record<string, unknown>;
  /** Serial of the submission now being recorded; submissions <= completed have finished on the GPU. */
  serial = 1;
  completed = 0;
  reuse: BufferReuse = 'submitted';
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #dispatches = 0;
  #free = new Map<number, GpuBuf[]>();
  #pending: GpuBuf[] = [];
  #staging = new Map<number, GPUBuffer[]>();
  #arenaFree: GpuBuf[] = [];
  #arenaPending: GpuBuf[] = [];
  #arena: GpuBuf | null = null;
  #arenaCpu = new Uint8Array(ARENA_BYTES);
  #arenaWords = new Int32Array(this.#arenaCpu.buffer);
  #arenaUsed = 0;
  /** The last uniform slot written in this arena (a dispatch with the same words shares it). */
  #lastUOff = -1;
  #lastULen = 0;
  /** State of the open compute pass (redundant setPipeline/setBindGroup calls are skipped). */
  #passPipeline: GPUComputePipeline | null = null;
  #passBg: GPUBindGroup | null = null;
  #passOff = -1;
  #offsets = [0];
  /** Commands recorded since a dispatch needed a pipeline still compiling (null: encoding directly). */
  #deferred: Deferred[] | null = null;
  /** Pipelines by shader key, compiled synchronously or asynchronously (./pipelines.ts). */
  readonly pipelines: PipelineCache;
  #bindGroups = new WeakMap<GPUBindGroupLayout, Map<string, GPUBindGroup>>();
  #bindGroupCount = 0;
  #liveBytes = 0;
  #pooledBytes = 0;
  #allocatedBytes = 0;
  #error: string | null = null;
  #destroyed = false;
  /** Keeps Dawn's GPU object alive (node: the process stays up while it is referenced; see shutdown). */
  readonly gpuRef: unknown;

  constructor(gpuRef: unknown, adapter: GPUAdapter, device: GPUDevice) {
    this.gpuRef = gpuRef;
    this.adapter = adapter;
    this.device = device;
    this.pipelines = new PipelineCache(device);
    // Dawn's GPUSupportedFeatures is not always iterable: probe the adapter's list instead.
    this.features = new Set(listFeatures(adapter).filter((f) => device.features.has(f)));
    const info = adapter.info as unknown as Record<string, unknown>;
    this.adapterInfo = {};
    for (const k of ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter']) {
      if (info[k] !== undefined) this.adapterInfo[k] = info[k];
    }
    this.cpuAdapter = info.isFallbackAdapter === true || info.architecture === 'software' || /llvmpipe|swiftshader/i.test(typeof info.device === 'string' ? info.device : '');
    device.addEventListener('uncapturederror', (e) => {
      const msg = (e).error.message;
      console.error(`[webgpu] ${msg}`);
      this.#error ??= msg;
    });
  }

  /**
   * A CPU-emulated adapter (lavapipe, SwiftShader): kernels pick their CPU-friendly variants (no workgroup
   * reductions or shared-memory tiles, which cost more than they save there). Tests may flip it to cover both.
   */
  cpuAdapter = false;

  /**
   * Row reductions (reduce, norms, attention block maxima) combine within a subgroup with subgroupAdd/Max/...
   * before one small workgroup-memory step: on when the device has 'subgroups', unless `initWebGPU({ subgroups:
   * false })`; tests flip it to cover the workgroup-memory fallback.
   */
  useSubgroups = false;

  /** How awaits of GPU work poll in Node (see ./wait.ts); installed by `setWaitMode`. */
  readonly wait = new WaitPolicy();
  #waitMode: WaitMode = 'spin';

  /**
   * 'sleep': Dawn's polling while we await GPU work spins for `wait.spinMs`, then sleeps 1 ms between polls;
   * 'spin': it spins throughout; 'auto': sleep on CPU adapters (whose GPU emulation needs the cores), spin
   * otherwise. Only Node (Dawn) polls this way; in browsers it changes nothing.
   */
  setWaitMode(mode: WaitMode, spinMs?: number): void {
    this.#waitMode = mode;
    if (spinMs !== undefined) this.wait.spinMs = spinMs;
    const sleep = mode === 'sleep' || (mode === 'auto' && this.cpuAdapter);
    if (sleep && this.#dawn) this.wait.install();
    else this.wait.uninstall();
  }
  get waitMode(): WaitMode {
    return this.#waitMode;
  }
  /** The device comes from Dawn's node bindings (set by createRuntime). */
  #dawn = false;
  markDawn(): void {
    this.#dawn = true;
  }

  /** Kernel variants recorded since the last clear (tests check that each one ran). */
  readonly variants = new Set<string>();
  variant(name: string): void {
    this.variants.add(name);
  }

  /**
   * The device limits, copied once into a plain object: Dawn's `device.limits` builds a new wrapper object on every
   * read, which cost about a microsecond per dispatch where the arena alignment was read from it.
   */
  get limits(): GPUSupportedLimits {
    if (!this.#limits) {
      const src = this.device.limits as unknown as Record<string, unknown>;
      const copy: Record<string, unknown> = {};
      for (const k in src) if (typeof src[k] === 'number') copy[k] = src[k];
      this.#limits = copy as unknown as GPUSupportedLimits;
    }
    return this.#limits;
  }
  #limits: GPUSupportedLimits | null = null;
  get hasF16(): boolean {
    return this.features.has('shader-f16');
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Throws the first validation error Dawn reported since the last check (they arrive asynchronously). */
  checkError(): void {
    if (this.#error) {
      const m = this.#error;
      this.#error = null;
      throw new BackendError(`WebGPU reported an error: ${m}`);
    }
  }

  // ------------------------------------------------------------------ buffers

  /** A storage buffer of at least `bytes` bytes from the pool (or a new one). */
  acquire(bytes: number): GpuBuf {
    const size = sizeClass(bytes);
    if (size > this.limits.maxStorageBufferBindingSize) {
      throw new BackendError(
        `a single ${bytes}-byte GPU buffer (kernel scratch or one binding) exceeds this adapter's maxStorageBufferBindingSize ` +
          `(${this.limits.maxStorageBufferBindingSize}); tensors are split across buffers, but this op needs one buffer: use smaller inputs`,
      );
    }
    this.#reclaim();
    const list = this.#free.get(size);
    let b = list?.pop();
    if (b) this.#pooledBytes -= size;
    else {
      b = { buffer: this.device.createBuffer({ size, usage: STORAGE_USAGE }), size, lastUse: 0, id: nextBufId++ };
      this.#allocatedBytes += size;
    }
    this.#liveBytes += size;
    return b;
  }

  /** The newest submission whose buffers may be reused (see BufferReuse). */
  get #reusable(): number {
    return this.reuse === 'submitted' ? this.serial - 1 : this.completed;
  }

  /** Returns a buffer to the pool; it becomes reusable once its last submission was submitted (or completed). */
  release(b: GpuBuf): void {
    this.#liveBytes -= b.size;
    this.#pooledBytes += b.size;
    if (this.#destroyed) return;
    if (b.lastUse <= this.#reusable) this.#pushFree(b);
    else this.#pending.push(b);
  }

  #pushFree(b: GpuBuf): void {
    let l = this.#free.get(b.size);
    if (!l) this.#free.set(b.size, (l = []));
    l.push(b);
  }

  #reclaim(): void {
    const ok = this.#reusable;
    if (this.#pending.length) {
      const still: GpuBuf[] = [];
      for (const b of this.#pending) {
        if (b.lastUse <= ok) this.#pushFree(b);
        else still.push(b);
      }
      this.#pending = still;
    }
    if (this.#arenaPending.length) {
      const still: GpuBuf[] = [];
      for (const b of this.#arenaPending) {
        if (b.lastUse <= ok) this.#arenaFree.push(b);
        else still.push(b);
      }
      this.#arenaPending = still;
    }
  }

  /** Writes bytes into a buffer (flushing first when the current batch still uses it). */
  write(b: GpuBuf, data: ArrayBufferView, byteOffset = 0): void {
    if (b.lastUse === this.serial) this.flush();
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const n = bytes.byteLength & ~3;
    if (n > 0) this.device.queue.writeBuffer(b.buffer, byteOffset, bytes, 0, n);
    if (n < bytes.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(n));
      this.device.queue.writeBuffer(b.buffer, byteOffset + n, tail);
    }
  }

  memoryStats(): { live: number; pooled: number; allocated: number } {
    return { live: this.#liveBytes, pooled: this.#pooledBytes, allocated: this.#allocatedBytes };
  }

  /** Frees every pooled buffer the GPU no longer needs (after a sync). */
  trim(): void {
    this.#reclaim();
    for (const [size, l] of this.#free) {
      for (const b of l) {
        b.buffer.destroy();
        this.#allocatedBytes -= size;
        this.#pooledBytes -= size;
      }
    }
    this.#free.clear();
    this.#clearBindGroups();
  }

  // ------------------------------------------------------------------ pipelines and dispatch

  /**
   * The pipeline of a shader (cached by `key`, which kernels set to the WGSL text itself); see PipelineCache.get:
   * while an asynchronous compile of it runs, a stand-in whose dispatches are encoded once it is ready.
   */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    return this.pipelines.get(key, code);
  }
  get pipelineStats(): PipelineStats {
    return this.pipelines.stats;
  }
  /** Compile-only mode (see PipelineCache.compileOnly): dispatch() records nothing. */
  get compileOnly(): boolean {
    return this.pipelines.compileOnly;
  }
  set compileOnly(on: boolean) {
    this.pipelines.compileOnly = on;
  }
  precompile(codes: Iterable<string>): Promise<void> {
    return this.pipelines.precompile(codes);
  }
  whenCompiled(): Promise<void> {
    return this.pipelines.whenCompiled();
  }
  pipelineCodes(): string[] {
    return this.pipelines.codes();
  }

  /** A cached bind group of `buffers` (and the arena, bound at a dynamic offset) for a pipeline's layout. */
  #bindGroup(bgl: GPUBindGroupLayout, buffers: GpuBuf[], arena: GpuBuf | null, ulen: number): GPUBindGroup {
    let key = '';
    for (const b of buffers) key += `${b.id ?? bufId(b.buffer)},`;
    if (arena) key += `u${arena.id ?? bufId(arena.buffer)}:${ulen}`;
    let m = this.#bindGroups.get(bgl);
    if (!m) this.#bindGroups.set(bgl, (m = new Map<string, GPUBindGroup>()));
    let bg = m.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({ binding: i, resource: { buffer: b.buffer, size: b.size } }));
      if (arena) entries.push({ binding: buffers.length, resource: { buffer: arena.buffer, offset: 0, size: ulen } });
      bg = this.device.createBindGroup({ layout: bgl, entries });
      if (++this.#bindGroupCount > BIND_GROUP_CACHE) this.#clearBindGroups();
      m.set(key, bg);
    }
    return bg;
  }

  #clearBindGroups(): void {
    this.#bindGroups = new WeakMap();
    this.#bindGroupCount = 0;
  }

  /** Dispatches recorded before a submit without a readback (MAX_BATCH; the uniform arena also bounds a batch). */
  maxBatch = MAX_BATCH;

  /** Bind groups are cached (cheaper small dispatches); tests turn this off to compare. */
  cacheBindGroups = true;

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  #encoderNow(): GPUCommandEncoder {
    if (!this.#encoder) {
      this.#encoder = this.device.createCommandEncoder();
      this.#reclaim();
      this.#arena = this.#arenaFree.pop() ?? { buffer: this.device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM_USAGE }), size: ARENA_BYTES, lastUse: 0, id: nextBufId++ };
      this.#arenaUsed = 0;
      this.#lastUOff = -1;
    }
    return this.#encoder;
  }

  /**
   * Records one compute dispatch: `buffers` bind at 0..n-1 (in the order the shader declares them), the uniform
   * words (if any) at binding n. `groups` is the workgroup grid.
   */
  dispatch(pipeline: GPUComputePipeline, buffers: GpuBuf[], uniforms: ArrayBufferView | null, groups: [number, number?, number?]): void {
    if (this.#destroyed) throw new BackendError('the WebGPU backend was shut down: call initWebGPU() again');
    if (this.compileOnly) return;
    const ulen = uniforms ? Math.ceil(uniforms.byteLength / 16) * 16 : 0;
    if (ulen > ARENA_BYTES) throw new BackendError(`uniform block of ${ulen} bytes is too large`);
    if (this.#encoder && this.#arenaUsed + ulen > ARENA_BYTES) this.flush();
    const enc = this.#encoderNow();
    let off = 0;
    if (uniforms) off = this.#uniformSlot(uniforms, ulen);
    for (const b of buffers) b.lastUse = this.serial;
    const info = this.pipelines.info(pipeline);
    // A stand-in without a known layout ('auto' layouts need the compiled pipeline): compile it now.
    if (!info.bgl) this.pipelines.compileNow(info);
    const bgl = info.bgl!;
    let bg: GPUBindGroup;
    if (info.dynamic && this.cacheBindGroups) bg = this.#bindGroup(bgl, buffers, uniforms ? this.#arena : null, ulen);
    else {
      const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({ binding: i, resource: { buffer: b.buffer, size: b.size } }));
      if (uniforms) entries.push({ binding: buffers.length, resource: { buffer: this.#arena!.buffer, offset: info.dynamic ? 0 : off, size: ulen } });
      bg = this.device.createBindGroup({ layout: bgl, entries });
    }
    // the dynamic offset (-1: the layout has none)
    const dynOff = info.dynamic ? (uniforms ? off : 0) : -1;
    if (!info.gpu || this.#deferred) {
      // Its pipeline is still compiling (or earlier work waits for one): keep the order, encode in flush.
      (this.#deferred ??= []).push({ info, bg, off: dynOff, groups: [groups[0], groups[1] ?? 1, groups[2] ?? 1] });
      this.pipelines.stats.deferred++;
      ++this.#dispatches;
      return;
    }
    this.#encodeDispatch(enc, info.gpu, bg, dynOff, groups[0], groups[1] ?? 1, groups[2] ?? 1);
    if (++this.#dispatches >= this.maxBatch) this.flush();
  }

  /** The arena offset of a uniform block: the previous dispatch's slot when the words are the same, else a new one. */
  #uniformSlot(uniforms: ArrayBufferView, ulen: number): number {
    const last = this.#lastUOff;
    if (last >= 0 && this.#lastULen === ulen && uniforms.byteLength === ulen && (uniforms instanceof Int32Array || uniforms instanceof Uint32Array)) {
      const w = this.#arenaWords;
      const base = last >> 2;
      let same = true;
      for (let i = 0; i < uniforms.length; i++) {
        if ((uniforms[i] | 0) !== w[base + i]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    const off = this.#arenaUsed;
    if (uniforms instanceof Int32Array) this.#arenaWords.set(uniforms, off >> 2);
    else this.#arenaCpu.set(new Uint8Array(uniforms.buffer, uniforms.byteOffset, uniforms.byteLength), off);
    if (uniforms.byteLength < ulen) this.#arenaCpu.fill(0, off + uniforms.byteLength, off + ulen);
    const align = this.limits.minUniformBufferOffsetAlignment;
    this.#arenaUsed = Math.ceil((off + ulen) / align) * align;
    this.#lastUOff = off;
    this.#lastULen = ulen;
    return off;
  }

  #encodeDispatch(enc: GPUCommandEncoder, p: GPUComputePipeline, bg: GPUBindGroup, off: number, x: number, y: number, z: number): void {
    let pass = this.#pass;
    if (!pass) {
      pass = this.#pass = enc.beginComputePass();
      this.#passPipeline = null;
      this.#passBg = null;
    }
    if (p !== this.#passPipeline) {
      pass.setPipeline(p);
      this.#passPipeline = p;
    }
    if (bg !== this.#passBg || off !== this.#passOff) {
      if (off >= 0) {
        // (one reused array: the binding copies the offsets during the call)
        this.#offsets[0] = off;
        pass.setBindGroup(0, bg, this.#offsets);
      } else pass.setBindGroup(0, bg);
      this.#passBg = bg;
      this.#passOff = off;
    }
    pass.dispatchWorkgroups(x, y, z);
  }

  /** Waits until the pipelines of the deferred commands are compiled (or have failed). */
  async #settle(): Promise<void> {
    while (this.#deferred) {
      const pending = new Set<Promise<void>>();
      for (const c of this.#deferred) if ('info' in c && c.info.ready) pending.add(c.info.ready);
      if (pending.size === 0) return;
      await Promise.all(pending);
    }
  }

  /** Buffer-to-buffer copy recorded in order with the dispatches. */
  copy(src: GpuBuf, srcOff: number, dst: GpuBuf | GPUBuffer, dstOff: number, bytes: number): void {
    const enc = this.#encoderNow();
    src.lastUse = this.serial;
    if ('lastUse' in dst) dst.lastUse = this.serial;
    const d = 'lastUse' in dst ? dst.buffer : dst;
    if (this.#deferred) {
      this.#deferred.push({ src: src.buffer, srcOff, dst: d, dstOff, bytes });
      return;
    }
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    enc.copyBufferToBuffer(src.buffer, srcOff, d, dstOff, bytes);
  }

  /** Encodes the deferred commands in order (compiling synchronously what is still pending). */
  #replay(): void {
    const cmds = this.#deferred!;
    this.#deferred = null;
    const enc = this.#encoder!;
    for (const c of cmds) {
      if ('info' in c) {
        this.pipelines.compileNow(c.info);
        this.#encodeDispatch(enc, c.info.gpu!, c.bg, c.off, c.groups[0], c.groups[1], c.groups[2]);
      } else {
        if (this.#pass) {
          this.#pass.end();
          this.#pass = null;
        }
        enc.copyBufferToBuffer(c.src, c.srcOff, c.dst, c.dstOff, c.bytes);
      }
    }
  }

  /** Submits the recorded work. */
  flush(): void {
    if (!this.#encoder) return;
    if (this.#deferred) this.#replay();
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    const arena = this.#arena!;
    if (this.#arenaUsed > 0) this.device.queue.writeBuffer(arena.buffer, 0, this.#arenaCpu, 0, this.#arenaUsed);
    arena.lastUse = this.serial;
    this.#arenaPending.push(arena);
    this.#arena = null;
    this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#dispatches = 0;
    const s = this.serial++;
    // Only the 'completed' reuse rule needs to know when each submission finished; in Node every pending callback
    // keeps Dawn polling (see ./wait.ts), so the default rule registers none (reads and sync() update `completed`).
    if (this.reuse === 'completed') {
      void this.device.queue.onSubmittedWorkDone().then(() => {
        if (s > this.completed) this.completed = s;
      });
    }
  }

  /** Waits for everything submitted so far. */
  async sync(): Promise<void> {
    await this.#settle();
    this.flush();
    const s = this.serial - 1;
    this.wait.begin();
    await this.device.queue.onSubmittedWorkDone();
    if (s > this.completed) this.completed = s;
    this.checkError();
  }

  /** Copies `bytes` bytes of `src` back to the CPU through a pooled staging buffer. */
  async read(src: GpuBuf, bytes: number): Promise<ArrayBuffer> {
    const size = sizeClass(bytes);
    const staging = this.#staging.get(size)?.pop() ?? this.device.createBuffer({ size, usage: STAGING_USAGE });
    this.copy(src, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    await this.#settle();
    this.flush();
    const s = this.serial - 1;
    this.wait.begin();
    await staging.mapAsync(1 /* READ */);
    if (s > this.completed) this.completed = s;
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let l = this.#staging.get(size);
    if (!l) this.#staging.set(size, (l = []));
    l.push(staging);
    this.checkError();
    return out;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.pipelines.clear();
    this.#deferred = null;
    this.wait.uninstall();
    this.#free.clear();
    this.#pending = [];
    this.device.destroy();
  }
}
