/**
 * The CPU GEMM entry points (the one place CPU kernels multiply matrices: matmul, linear, conv2d's im2col,
 * attention). Large products are split across the worker pool (pool.ts); the result is bitwise identical to the
 * single-threaded one because every output element is summed in the same order (see gemm-kernel.ts).
 */
import { gemmBlock, type F, type GemmScratch } from './gemm-kernel.ts';
import { cpuThreads, runParallel, type GemmJob } from './pool.ts';

/** A strided matrix view into a typed array: element (r, c) is data[offset + r * rowStride + c * colStride]. */
export interface MatView {
  data: F;
  offset: number;
  rowStride: number;
  colStride: number;
}

/** Multiply-adds below which a product stays on the calling thread (posting to a worker costs ~0.1 ms). */
let parallelMinFma = 1 << 19;
/** The least rows (or columns) per part when a product is split. */
let minPart = 64;

/** Test hook: lowers the size from which products are split (so tiny shapes exercise the pool); returns the old values. */
export function setGemmGrain(minFma: number, minRowsOrCols: number): [number, number] {
  const prev: [number, number] = [parallelMinFma, minPart];
  [parallelMinFma, minPart] = [minFma, Math.max(1, minRowsOrCols)];
  return prev;
}

const mainScratch: GemmScratch = {};
const sharedScratch = new Map<string, F>();

function isShared(a: F): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** Scratch arrays up to this many elements are kept between calls; larger ones are left to the GC. */
const SCRATCH_KEEP = 1 << 22;

/** A SharedArrayBuffer-backed array of at least n elements, cached per role and dtype (GEMMs never nest). */
function scratch(role: string, like: F, n: number): F {
  const key = `${role}:${like instanceof Float64Array ? 64 : 32}`;
  let s = sharedScratch.get(key);
  if (!s || s.length < n) {
    const buf = new SharedArrayBuffer(Math.max(n, 1) * like.BYTES_PER_ELEMENT);
    s = like instanceof Float64Array ? new Float64Array(buf) : new Float32Array(buf);
    if (n <= SCRATCH_KEEP) sharedScratch.set(key, s);
  }
  return s;
}

/** A shared, dense copy of a view that is not on shared memory (views already shared pass through). */
function toShared(role: string, v: MatView, rows: number, cols: number): MatView {
  if (isShared(v.data)) return v;
  const out = scratch(role, v.data, rows * cols);
  for (let r = 0; r < rows; r++) {
    const src = v.offset + r * v.rowStride;
    for (let c = 0; c < cols; c++) out[r * cols + c] = v.data[src + c * v.colStride];
  }
  return { data: out, offset: 0, rowStride: cols, colStride: 1 };
}

export type GemmHook = (A: MatView, B: MatView, C: F, cOffset: number, ldc: number, M: number, K: number, N: number) => boolean;
let gemmHook: GemmHook | null = null;
/** Lets another engine take over products (the cpu-wasm backend while its fallback kernels run; it returns true when it did). Returns the previous hook. */
export function setGemmHook(h: GemmHook | null): GemmHook | null {
  const prev = gemmHook;
  gemmHook = h;
  return prev;
}

/** Half-open [start, end) bounds of `parts` nearly equal pieces of n, each a multiple of `align` but the last. */
function splitRange(n: number, parts: number, align: number): number[] {
  const bounds = [0];
  for (let p = 1; p < parts; p++) bounds.push(Math.min(n, Math.round((n * p) / parts / align) * align));
  bounds.push(n);
  return bounds;
}

/**
 * C = A . B for strided A [M, K] and B [K, N]; C is row-major with leading dimension `ldc` starting at `cOffset`
 * (C is overwritten). Runs on the worker pool when the product is large enough and threads are available.
 */
export function gemmStrided(A: MatView, B: MatView, C: F, cOffset: number, ldc: number, M: number, K: number, N: number): void {
  if (gemmHook?.(A, B, C, cOffset, ldc, M, K, N)) return;
  const threads = cpuThreads();
  const fma = M * K * N;
  const byRows = M >= minPart * 2;
  const parts = Math.min(threads, Math.floor((byRows ? M : N) / minPart));
  if (threads === 1 || fma < parallelMinFma || parts < 2) {
    gemmBlock(A.data, A.offset, A.rowStride, A.colStride, B.data, B.offset, B.rowStride, B.colStride,
      C, cOffset, ldc, M, K, 0, M, 0, N, mainScratch);
    return;
  }
  const a = toShared('a', A, M, K);
  const b = toShared('b', B, K, N);
  const cShared = isShared(C);
  const c = cShared ? C : scratch('c', C, M * N);
  const cOff = cShared ? cOffset : 0;
  const cld = cShared ? ldc : N;
  const bounds = splitRange(byRows ? M : N, parts, 4);
  const jobs: GemmJob[] = [];
  for (let p = 0; p < parts; p++) {
    const [lo, hi] = [bounds[p], bounds[p + 1]];
    jobs.push({
      A: a.data, aOff: a.offset, ars: a.rowStride, acs: a.colStride,
      B: b.data, bOff: b.offset, brs: b.rowStride, bcs: b.colStride,
      C: c, cOff, ldc: cld, M, K,
      m0: byRows ? lo : 0, m1: byRows ? hi : M, n0: byRows ? 0 : lo, n1: byRows ? N : hi,
    });
  }
  const j0 = jobs[0];
  runParallel(jobs, () =>
    gemmBlock(j0.A, j0.aOff, j0.ars, j0.acs, j0.B, j0.bOff, j0.brs, j0.bcs, j0.C, j0.cOff, j0.ldc, M, K, j0.m0, j0.m1, j0.n0, j0.n1, mainScratch),
  );
  if (!cShared) {
    for (let r = 0; r < M; r++) C.set(c.subarray(r * N, r * N + N), cOffset + r * ldc);
  }
}

/** C[M,N] = A[M,K] . B[K,N], all dense row-major (C is overwritten). Multithreaded for large products. */
export function gemm(A: F, B: F, C: F, M: number, K: number, N: number): void {
  gemmStrided({ data: A, offset: 0, rowStride: K, colStride: 1 }, { data: B, offset: 0, rowStride: N, colStride: 1 }, C, 0, N, M, K, N);
}
