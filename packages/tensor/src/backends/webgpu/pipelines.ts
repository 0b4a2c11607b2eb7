/// <reference types="@webgpu/types" />
/**
 * Compute pipelines by shader key (kernels use the WGSL text itself as the key), created synchronously on first use
 * (`get`, since `run()` is synchronous) or asynchronously ahead of time with createComputePipelineAsync
 * (`precompile`, compile-only mode). While an asynchronous compile runs, `get` returns a stand-in object: the
 * runtime (./runtime.ts) records dispatches on it in order and encodes them once the pipeline is ready, or compiles
 * it synchronously (`compileNow`) when a flush cannot wait.
 */

/**
 * What the runtime knows of a pipeline: its bind group layout (explicit, or read from the pipeline), whether the
 * uniform block binds at a dynamic offset, and the compiled pipeline (`gpu`; null while an asynchronous compile
 * runs, `ready` settling when it ends).
 */
export interface PipeInfo {
  bgl: GPUBindGroupLayout | null;
  dynamic: boolean;
  gpu: GPUComputePipeline | null;
  ready: Promise<void> | null;
  desc: GPUComputePipelineDescriptor | null;
}

/** Pipeline creation counters (`GpuRuntime.pipelineStats`). */
export interface PipelineStats {
  /** Created synchronously on first use. */
  sync: number;
  /** Created by createComputePipelineAsync (precompile, and work waiting on them). */
  async: number;
  /** Dispatches recorded before their asynchronous pipeline was ready (encoded once it was). */
  deferred: number;
  /** Pending asynchronous pipelines compiled synchronously after all, because a synchronous flush needed them. */
  fallback: number;
  /** Asynchronous compiles that failed (the synchronous path then reports the error). */
  failed: number;
}

/**
 * The bind group layout entries a generated shader declares (`@group(0) @binding(i) var<storage, read|read_write>`
 * or `var<uniform>`, the uniform block at a dynamic offset), or null when its declarations do not follow that form.
 */
export function bindingsOf(code: string): GPUBindGroupLayoutEntry[] | null {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<([^>]*)>/g)) {
    const kind = m[2].replace(/\s+/g, '');
    const type = kind === 'uniform' ? 'uniform' : kind === 'storage,read' ? 'read-only-storage' : kind === 'storage,read_write' ? 'storage' : null;
    if (!type) return null;
    entries.push({ binding: Number(m[1]), visibility: 4 /* COMPUTE */, buffer: { type, hasDynamicOffset: type === 'uniform' } });
  }
  entries.sort((a, b) => a.binding - b.binding);
  return entries.length > 0 && entries.every((e, i) => e.binding === i) ? entries : null;
}

export class PipelineCache {
  readonly stats: PipelineStats = { sync: 0, async: 0, deferred: 0, fallback: 0, failed: 0 };
  /**
   * Compile-only mode (see `precompile` in ./backend.ts): `get` starts asynchronous compiles, and the runtime's
   * dispatch() records nothing, so running a model's forward pass gathers the pipelines it needs without executing it.
   */
  compileOnly = false;
  /** Pipelines by key: the compiled one, or a stand-in while createComputePipelineAsync runs. */
  #pipelines = new Map<string, GPUComputePipeline>();
  /** What dispatch needs of each pipeline or stand-in (Dawn returns a fresh wrapper per getBindGroupLayout call). */
  #infos = new WeakMap<GPUComputePipeline, PipeInfo>();
  #cleared = false;

  constructor(readonly device: GPUDevice) {}

  get size(): number {
    return this.#pipelines.size;
  }

  /**
   * The pipeline of a shader. Synchronous: a pipeline not seen before is created with createComputePipeline, unless
   * an asynchronous compile of it is already running, in which case its stand-in is returned (the runtime encodes
   * work on it once it is ready; the next readback or sync() waits for it).
   */
  get(key: string, code: () => string): GPUComputePipeline {
    const p = this.#pipelines.get(key);
    if (p) return p;
    if (this.compileOnly) return this.#compileAsync(key, code());
    const info = this.#describe(key, code());
    const gpu = this.device.createComputePipeline(info.desc!);
    this.stats.sync++;
    info.gpu = gpu;
    info.bgl ??= gpu.getBindGroupLayout(0);
    this.#infos.set(gpu, info);
    this.#pipelines.set(key, gpu);
    return gpu;
  }

  /** What dispatch needs of a pipeline (one this cache did not create is described from its auto layout). */
  info(p: GPUComputePipeline): PipeInfo {
    let info = this.#infos.get(p);
    if (!info) this.#infos.set(p, (info = { bgl: p.getBindGroupLayout(0), dynamic: false, gpu: p, ready: null, desc: null }));
    return info;
  }

  /** Compiles a pending pipeline synchronously (a synchronous flush cannot wait for the asynchronous compile). */
  compileNow(info: PipeInfo): void {
    if (info.gpu) return;
    info.gpu = this.device.createComputePipeline(info.desc!);
    info.bgl ??= info.gpu.getBindGroupLayout(0);
    this.#infos.set(info.gpu, info);
    this.stats.fallback++;
  }

  /** The descriptor of a shader's pipeline, with an explicit layout when `bindingsOf` can read one. */
  #describe(key: string, text: string): PipeInfo {
    const module = this.device.createShaderModule({ code: text, label: key.length > 200 ? undefined : key });
    const entries = bindingsOf(text);
    if (!entries) return { bgl: null, dynamic: false, gpu: null, ready: null, desc: { layout: 'auto', compute: { module, entryPoint: 'main' } } };
    // An explicit layout with the uniform block at a dynamic offset: one bind group serves every dispatch of the
    // same buffers (the runtime's bind group cache), whatever its uniform slot in the arena.
    const bgl = this.device.createBindGroupLayout({ entries });
    const layout = this.device.createPipelineLayout({ bindGroupLayouts: [bgl] });
    return { bgl, dynamic: entries.some((e) => e.buffer?.hasDynamicOffset), gpu: null, ready: null, desc: { layout, compute: { module, entryPoint: 'main' } } };
  }

  /** Starts createComputePipelineAsync for `key` (once) and returns its stand-in (the pipeline once it is ready). */
  #compileAsync(key: string, text: string): GPUComputePipeline {
    const known = this.#pipelines.get(key);
    if (known) return known;
    const info = this.#describe(key, text);
    const standIn = { label: key.length > 200 ? '' : key, __brand: 'GPUComputePipeline' } as unknown as GPUComputePipeline;
    this.#infos.set(standIn, info);
    this.#pipelines.set(key, standIn);
    this.stats.async++;
    info.ready = this.device
      .createComputePipelineAsync(info.desc!)
      .then(
        (gpu) => {
          if (this.#cleared) return;
          info.gpu ??= gpu;
          info.bgl ??= gpu.getBindGroupLayout(0);
          this.#infos.set(info.gpu, info);
          if (this.#pipelines.get(key) === standIn) this.#pipelines.set(key, info.gpu);
        },
        () => {
          this.stats.failed++;
        },
      )
      .finally(() => {
        info.ready = null;
      });
    return standIn;
  }

  /**
   * Compiles the pipelines of these shaders (WGSL texts, as `codes()` lists them) with createComputePipelineAsync,
   * in the background; resolves when all have settled. Work recorded meanwhile that needs one of them waits for it
   * instead of compiling it again.
   */
  precompile(codes: Iterable<string>): Promise<void> {
    for (const c of codes) this.#compileAsync(c, c);
    return this.whenCompiled();
  }

  /** Resolves when every asynchronous compile started so far has settled. */
  async whenCompiled(): Promise<void> {
    for (;;) {
      const pending: Promise<void>[] = [];
      for (const p of this.#pipelines.values()) {
        const r = this.#infos.get(p)?.ready;
        if (r) pending.push(r);
      }
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** The WGSL of every pipeline created or requested so far (to save and `precompile` in a later session). */
  codes(): string[] {
    return [...this.#pipelines.keys()];
  }

  /** Forgets every pipeline (device destroyed). */
  clear(): void {
    this.#cleared = true;
    this.#pipelines.clear();
  }
}
