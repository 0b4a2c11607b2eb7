/**
 * KV cache for LLaMA: per layer the keys and values [B, Hk, T, head_dim] of every position seen so far. Either
 * preallocated to `maxLength` (new positions are written in place; the attention reads a narrowed view) or growing
 * (each chunk is concatenated). `length` counts the cached positions; the model's forward appends a chunk to every
 * layer and then advances it, so a conversation can be extended chunk by chunk with positions that continue.
 */
import { cat, copyInto, keep, noGrad, zeros } from '@segllm/tensor';
import type { Backend, DType, Tensor } from '@segllm/tensor';

/** A chunk that does not fit, or a cache that does not match the model. */
export class KVCacheError extends Error {
  override readonly name = 'KVCacheError';
}

export interface KVCacheOptions {
  numLayers: number;
  batch: number;
  numKvHeads: number;
  headDim: number;
  /** Preallocate every layer to this many positions; omit for a growing cache. */
  maxLength?: number;
  dtype?: DType;
  backend?: string | Backend;
}

export class KVCache {
  /** Cached positions. */
  length = 0;
  readonly maxLength: number | null;
  readonly #keys: (Tensor | null)[];
  readonly #values: (Tensor | null)[];
  readonly #pending = new Set<number>();

  constructor(readonly options: KVCacheOptions) {
    const { numLayers, batch, numKvHeads, headDim, maxLength } = options;
    this.maxLength = maxLength ?? null;
    this.#keys = new Array<Tensor | null>(numLayers).fill(null);
    this.#values = new Array<Tensor | null>(numLayers).fill(null);
    if (maxLength !== undefined) {
      const shape = [batch, numKvHeads, maxLength, headDim];
      const o = { dtype: options.dtype ?? 'float32', backend: options.backend };
      for (let i = 0; i < numLayers; i++) {
        this.#keys[i] = keep(zeros(shape, o)); // [B, Hk, maxLength, hd]
        this.#values[i] = keep(zeros(shape, o));
      }
    }
  }

  get numLayers(): number {
    return this.#keys.length;
  }

  /** Checks that a chunk of T positions for batch B fits (called by the model before it computes anything). */
  check(B: number, T: number): void {
    if (B !== this.options.batch) throw new KVCacheError(`the cache was made for batch ${this.options.batch}, the input has batch ${B}: make the cache with model.makeCache(${B})`);
    if (this.maxLength !== null && this.length + T > this.maxLength) {
      throw new KVCacheError(`${T} new positions after ${this.length} cached exceed the cache's maxLength ${this.maxLength}: make a larger cache (or a growing one)`);
    }
  }

  /**
   * Appends k, v [B, Hk, T, hd] of layer `layer` at positions [length, length + T) and returns the keys and values
   * of all positions so far, [B, Hk, length + T, hd] (views owned by the caller). Not differentiable.
   */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const { batch, numKvHeads, headDim } = this.options;
    const [B, Hk, T, D] = k.shape;
    if (B !== batch || Hk !== numKvHeads || D !== headDim || v.shape[2] !== T) {
      throw new KVCacheError(`KV cache for [${batch}, ${numKvHeads}, *, ${headDim}] got keys [${k.shape.join(', ')}]: make the cache with the model's config and the input's batch size`);
    }
    if (layer < 0 || layer >= this.numLayers) throw new KVCacheError(`layer ${layer} is out of range for a ${this.numLayers}-layer cache`);
    const end = this.length + T;
    if (this.maxLength !== null && end > this.maxLength) {
      throw new KVCacheError(`${T} new positions after ${this.length} cached exceed the cache's maxLength ${this.maxLength}: make a larger cache (or a growing one)`);
    }
    this.#pending.add(layer);
    return noGrad(() => {
      if (this.maxLength !== null) {
        const kb = this.#keys[layer]!;
        const vb = this.#values[layer]!;
        const ks = kb.narrow(2, this.length, T); // [B, Hk, T, hd] view into the buffer
        const vs = vb.narrow(2, this.length, T);
        copyInto(ks, k.dtype === kb.dtype ? k : k.to(kb.dtype));
        copyInto(vs, v.dtype === vb.dtype ? v : v.to(vb.dtype));
        ks.dispose();
        vs.dispose();
        return [kb.narrow(2, 0, end), vb.narrow(2, 0, end)] as [Tensor, Tensor];
      }
      const prevK = this.#keys[layer];
      const prevV = this.#values[layer];
      const nk = keep(prevK ? cat([prevK, k], 2) : k.clone()); // [B, Hk, end, hd]
      const nv = keep(prevV ? cat([prevV, v], 2) : v.clone());
      prevK?.dispose();
      prevV?.dispose();
      this.#keys[layer] = nk;
      this.#values[layer] = nv;
      return [nk.view(nk.shape), nv.view(nv.shape)] as [Tensor, Tensor];
    });
  }

  /** Called by the model after a forward: every layer must have received the chunk. */
  advance(T: number): void {
    if (this.#pending.size !== this.numLayers) {
      throw new KVCacheError(`only ${this.#pending.size} of ${this.numLayers} layers were updated: the cache belongs to a model with another layer count`);
    }
    this.#pending.clear();
    this.length += T;
  }

  /** Forgets positions from `length` on (e.g. to branch a conversation); a growing cache is cut. */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new KVCacheError(`cannot truncate a cache of ${this.length} positions to ${length}`);
    if (this.maxLength === null && length < this.length) {
      noGrad(() => {
        for (let i = 0; i < this.numLayers; i++) {
          for (const arr of [this.#keys, this.#values]) {
            const t = arr[i];
            if (!t) continue;
            if (length === 0) arr[i] = null;
            else {
              const view = t.narrow(2, 0, length); // [B, Hk, length, hd] over the old storage
              arr[i] = keep(view.clone()); // a copy, so that the old storage is freed below
              view.dispose();
            }
            t.dispose();
          }
        }
      });
    }
    this.length = length;
  }

  dispose(): void {
    for (const arr of [this.#keys, this.#values]) {
      for (let i = 0; i < arr.length; i++) {
        arr[i]?.dispose();
        arr[i] = null;
      }
    }
    this.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
