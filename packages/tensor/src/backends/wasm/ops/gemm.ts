/**
 * Host side of the SIMD GEMM and GEMV: picks the kernel, splits the output across threads and runs it, and the
 * `matmul` kernel of the cpu-wasm backend. Also the hook that routes the readable CPU kernels' GEMMs (conv2d's
 * im2col product, attention, backward passes) to the SIMD GEMM while they run on cpu-wasm.
 *
 * Every output element is summed in the same order whatever the split (see kernels/gemm.ts), so results do not
 * depend on the thread count.
 */
import type { View } from '../../../backend.ts';
import { itemSize } from '../../../dtype.ts';
import type { GemmHook } from '../../../ops/matmul/gemm.ts';
import { numel } from '../../../shape.ts';
import { addr, WasmStorage } from '../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { MR, NR } from '../kernels/gemm.ts';
import type { ElemType } from '../kernels/elem.ts';
import type { WasmRuntime } from '../runtime.ts';

/** Multiply-adds below which a product stays on one thread. */
const PARALLEL_MIN = 1 << 18;
/** Rows below which the GEMV kernels run instead of the packed GEMM. */
export const GEMV_MAX_M = 4;

export function elemType(dtype: string): ElemType | null {
  return dtype === 'float32' ? 'f32' : dtype === 'float16' ? 'f16' : dtype === 'bfloat16' ? 'bf16' : null;
}

/**
 * Smallest chunk of a parallel GEMM: columns (by-column split: each chunk packs all of A, about 1/width copies per
 * multiply-add) and rows (by-row split: each chunk packs all of B).
 */
const MIN_COLS = 32 * NR;
const MIN_ROWS = 32 * MR;
/**
 * Smallest chunk of a parallel GEMV in columns (boundaries stay multiples of 16 so each column is summed the same
 * way): dot products read whole weight rows whatever the width; axpy reads each weight row in chunk-wide pieces,
 * which must stay long for the prefetchers (its column blocks are 1024 wide).
 */
const MIN_GEMV_COLS = { dot: 256, axpy: 1024 };
/** The scratch argument of gemm_<a><b> (replaced by the running thread's own). */
const GEMM_SCRATCH_ARG = 13;

/** A strided matrix operand: byte address, byte strides, element type. */
export interface Operand {
  ptr: number;
  rs: number;
  cs: number;
  t: ElemType;
  /** float16 only: the elements are known to hold no Inf/NaN (GEMV then widens with the cheaper, finite-only code). */
  finite?: boolean;
}

/**
 * Whether a float16 view's storage holds no Inf/NaN, from a cached scan (f16_nonfinite over the whole storage; any
 * write resets it). The scan runs on the second GEMV read since the last write, and only when the view covers at
 * least 1/16 of the storage: weights (also slices of a fused weight, e.g. one third of a QKV projection) are scanned
 * once and then read many times, while storages rewritten before each read (a KV cache, activations) and large
 * storages read through small windows are never scanned and keep the exact widening.
 */
export function halfFinite(rt: WasmRuntime, v: View): boolean {
  const s = v.storage;
  if (v.dtype !== 'float16' || !(s instanceof WasmStorage)) return false;
  if (s.halfFinite !== null) return s.halfFinite;
  if (++s.halfReads < 2 || 16 * numel(v.shape) < s.numel) return false;
  const nonFinite = (rt.fns.f16_nonfinite as (p: number, n: number) => number)(s.ptr, s.numel);
  s.halfFinite = nonFinite === 0;
  rt.halfScans++;
  return s.halfFinite;
}

/** C[M, N] (f32, row-major, ldc in bytes) = A . B; C is overwritten. */
export function gemmInto(rt: WasmRuntime, A: Operand, B: Operand, c: number, ldc: number, M: number, K: number, N: number): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    const f = rt.f32();
    for (let i = 0; i < M; i++) f.fill(0, (c + i * ldc) / 4, (c + i * ldc) / 4 + N);
    return;
  }
  const threads = M * N * K < PARALLEL_MIN ? 1 : rt.active;
  if (M < GEMV_MAX_M && gemvInto(rt, A, B, c, ldc, M, K, N, threads)) return;
  const byCols = N >= M;
  const bounds = rt.split(byCols ? N : M, byCols ? NR : MR, byCols ? MIN_COLS : MIN_ROWS, threads);
  const lists: number[][] = [];
  for (let p = 0; p + 1 < bounds.length; p++) {
    const [lo, hi] = [bounds[p], bounds[p + 1]];
    if (hi <= lo) continue;
    lists.push([A.ptr, A.rs, A.cs, B.ptr, B.rs, B.cs, c, ldc, byCols ? 0 : lo, byCols ? M : hi, K, byCols ? lo : 0, byCols ? hi : N, 0]);
  }
  rt.parallel(`gemm_${A.t}${B.t}`, lists, GEMM_SCRATCH_ARG);
}

/**
 * GEMV-shaped products (M < 4): B column-contiguous (a Linear weight [N, K] seen transposed) uses SIMD dot
 * products along K; B row-contiguous uses SIMD axpy along N. A is first copied to a dense f32 row. Returns false
 * when neither layout applies.
 */
function gemvInto(rt: WasmRuntime, A: Operand, B: Operand, c: number, ldc: number, M: number, K: number, N: number, threads: number): boolean {
  const eb = B.t === 'f32' ? 4 : 2;
  const kind = B.rs === eb ? 'dot' : B.cs === eb ? 'axpy' : null;
  if (!kind) return false;
  const fast = B.t === 'f16' && B.finite === true;
  const fname = `gemv_${kind}_${fast ? 'f16f' : B.t}`;
  if (!(fname in rt.fns)) return false;
  if (fast) rt.halfFastGemv++;
  // Dense f32 copy of A's rows in this thread's scratch (K * 4 bytes per row fits: scratch >= 1 MiB).
  const x = rt.scratch[0];
  if (M * K * 4 > 1 << 20) return false;
  for (let i = 0; i < M; i++) rt.fns[`row_to_f32_${A.t}`](A.ptr + i * A.rs, A.cs, K, x + i * K * 4);
  const bounds = rt.split(N, 16, MIN_GEMV_COLS[kind], threads);
  for (let i = 0; i < M; i++) {
    const lists: number[][] = [];
    for (let p = 0; p + 1 < bounds.length; p++) {
      if (bounds[p + 1] <= bounds[p]) continue;
      lists.push([x + i * K * 4, B.ptr, kind === 'dot' ? B.cs : B.rs, c + i * ldc, K, bounds[p], bounds[p + 1]]);
    }
    rt.parallel(fname, lists);
  }
  return true;
}

function operand(v: View, rows: number, cols: number, r: number): Operand | null {
  const t = elemType(v.dtype);
  if (!t) return null;
  const s = itemSize(v.dtype);
  void rows;
  void cols;
  return { ptr: addr(v), rs: v.strides[r - 2] * s, cs: v.strides[r - 1] * s, t };
}

/** Converts n f32 at byte address `src` into the half dtype at `dst` (round to nearest even, in WASM). */
export function roundOut(rt: WasmRuntime, src: number, dst: number, n: number, dtype: string): void {
  rt.fns[dtype === 'float16' ? 'f32_to_f16' : 'f32_to_bf16'](src, dst, n);
}

registerKernel('cpu-wasm', 'matmul', (rt, [a, b], [y]) => {
  const r = a.shape.length;
  if (!elemType(a.dtype) || !elemType(b.dtype) || !elemType(y.dtype)) return false;
  const M = a.shape[r - 2];
  const K = a.shape[r - 1];
  const N = b.shape[r - 1];
  const batchShape = y.shape.slice(0, r - 2);
  const nb = numel(batchShape);
  const half = y.dtype !== 'float32';
  const finite = M < GEMV_MAX_M && halfFinite(rt, b);
  const tmp = half ? rt.heap.alloc(M * N * 4) : -1;
  try {
    const idx = new Array<number>(batchShape.length).fill(0);
    const ys = itemSize(y.dtype);
    for (let bi = 0; bi < nb; bi++) {
      let oa = 0;
      let ob = 0;
      for (let d = 0; d < idx.length; d++) {
        oa += idx[d] * a.strides[d];
        ob += idx[d] * b.strides[d];
      }
      const A = operand({ ...a, offset: a.offset + oa }, M, K, r);
      const B = operand({ ...b, offset: b.offset + ob }, K, N, r);
      if (!A || !B) return false;
      B.finite = finite;
      const yAddr = addr(y) + bi * M * N * ys;
      gemmInto(rt, A, B, half ? tmp : yAddr, N * 4, M, K, N);
      if (half) roundOut(rt, tmp, yAddr, M * N, y.dtype);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < batchShape[d]) break;
        idx[d] = 0;
      }
    }
  } finally {
    if (tmp >= 0) rt.heap.free(tmp, M * N * 4);
  }
  return true;
});

/**
 * The hook for the readable CPU kernels' GEMMs (float32 only): operands already in the WASM memory are used in
 * place; others are copied into temporary blocks (cheap next to the product) unless that would grow a non-shared
 * memory (growth would detach the typed arrays the calling kernel holds).
 */
export function gemmHook(rt: WasmRuntime): GemmHook {
  return (A, B, C, cOffset, ldc, M, K, N) => {
    if (!(A.data instanceof Float32Array && B.data instanceof Float32Array && C instanceof Float32Array)) return false;
    if (M * N * K < 1 << 14) return false;
    const buf = rt.memory.buffer;
    const temps: [number, number][] = [];
    const place = (data: Float32Array, offset: number, rs: number, cs: number, rows: number, cols: number): Operand | null => {
      if (data.buffer === buf) return { ptr: data.byteOffset + offset * 4, rs: rs * 4, cs: cs * 4, t: 'f32' };
      const p = rt.heap.alloc(rows * cols * 4, rt.shared);
      if (p < 0) return null;
      temps.push([p, rows * cols * 4]);
      const f = rt.f32();
      const o = p / 4;
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) f[o + i * cols + j] = data[offset + i * rs + j * cs];
      return { ptr: p, rs: cols * 4, cs: 4, t: 'f32' };
    };
    try {
      const a = place(A.data, A.offset, A.rowStride, A.colStride, M, K);
      const b = a && place(B.data, B.offset, B.rowStride, B.colStride, K, N);
      if (!a || !b) return false;
      if (C.buffer === buf) {
        gemmInto(rt, a, b, C.byteOffset + cOffset * 4, ldc * 4, M, K, N);
        return true;
      }
      const p = rt.heap.alloc(M * N * 4, rt.shared);
      if (p < 0) return false;
      temps.push([p, M * N * 4]);
      gemmInto(rt, a, b, p, N * 4, M, K, N);
      const f = rt.f32();
      for (let i = 0; i < M; i++) C.set(f.subarray(p / 4 + i * N, p / 4 + i * N + N), cOffset + i * ldc);
      return true;
    } finally {
      for (const [p, n] of temps) rt.heap.free(p, n);
    }
  };
}
