/**
 * The allocator of the WASM backend's linear memory: 64-byte aligned blocks, best fit from a free list sorted by
 * address (neighbours coalesce), bump allocation at the top otherwise. The memory grows in 64 KiB pages up to a
 * fixed maximum (the bound the memory was created with); beyond it, allocation throws WasmMemoryError.
 */

export class WasmMemoryError extends Error {
  override name = 'WasmMemoryError';
}

const ALIGN = 64;
const PAGE = 65536;

export interface HeapStats {
  /** Bytes in live blocks. */
  live: number;
  /** Bytes in free blocks below the top (reusable). */
  pooled: number;
  /** Bytes of linear memory (what the process holds). */
  allocated: number;
  /** The most the memory may grow to. */
  maximum: number;
}

export class Heap {
  readonly #memory: WebAssembly.Memory;
  readonly #maxBytes: number;
  #top: number;
  #live = 0;
  /** Free blocks [offset, size], sorted by offset, never adjacent (coalesced). */
  #free: [number, number][] = [];

  constructor(memory: WebAssembly.Memory, base: number, maxBytes: number) {
    this.#memory = memory;
    this.#top = align(base);
    this.#maxBytes = maxBytes;
  }

  /**
   * A block of at least `bytes` (a 64-byte aligned byte offset; 0-byte requests get a valid empty block). With
   * `grow` false, returns -1 instead of growing the memory (growth detaches typed arrays over a non-shared memory).
   */
  alloc(bytes: number, grow = true): number {
    const size = Math.max(ALIGN, align(bytes));
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const s = this.#free[i][1];
      if (s >= size && (best < 0 || s < this.#free[best][1])) {
        best = i;
        if (s === size) break;
      }
    }
    if (best >= 0) {
      const [off, s] = this.#free[best];
      if (s === size) this.#free.splice(best, 1);
      else this.#free[best] = [off + size, s - size];
      this.#live += size;
      return off;
    }
    const off = this.#top;
    const end = off + size;
    if (end > this.#memory.buffer.byteLength) {
      if (!grow) return -1;
      if (end > this.#maxBytes) {
        throw new WasmMemoryError(
          `cpu-wasm: allocating ${bytes} bytes needs ${end} bytes of WASM memory, over the limit of ${this.#maxBytes} ` +
            `(live ${this.#live}): dispose tensors you no longer need (tidy()), or call initCpuWasm({ maxMemoryBytes }) with a larger limit (at most 4 GiB)`,
        );
      }
      const have = this.#memory.buffer.byteLength;
      // Grow at least 1/8 of the current size (fewer grow calls), never past the maximum.
      const want = Math.min(Math.max(end, have + have / 8), this.#maxBytes);
      this.#memory.grow(Math.ceil((want - have) / PAGE));
    }
    this.#top = end;
    this.#live += size;
    return off;
  }

  free(off: number, bytes: number): void {
    const size = Math.max(ALIGN, align(bytes));
    this.#live -= size;
    const f = this.#free;
    // Insertion point by address.
    let lo = 0;
    let hi = f.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid][0] < off) lo = mid + 1;
      else hi = mid;
    }
    let start = off;
    let end = off + size;
    if (lo > 0 && f[lo - 1][0] + f[lo - 1][1] === start) {
      start = f[lo - 1][0];
      f.splice(--lo, 1);
    }
    if (lo < f.length && f[lo][0] === end) {
      end = f[lo][0] + f[lo][1];
      f.splice(lo, 1);
    }
    if (end === this.#top) this.#top = start;
    else f.splice(lo, 0, [start, end - start]);
  }

  stats(): HeapStats {
    const pooled = this.#free.reduce((s, b) => s + b[1], 0);
    return { live: this.#live, pooled, allocated: this.#memory.buffer.byteLength, maximum: this.#maxBytes };
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
