import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { gemm, gemmStrided, setGemmGrain, type MatView } from './gemm.ts';
import { cpuThreads, poolWorkers, setCpuThreads, threadsFromEnv } from './pool.ts';
import { matmul } from './matmul.ts';
import { tensor } from '../../tensor.ts';
import { transpose } from '../movement/views.ts';
import '../index.ts';
import { cpu } from '../../backends/cpu/backend.ts';

type F = Float32Array | Float64Array;

/** Deterministic values in [-1, 1) (a small LCG), optionally on shared memory. */
function filled(n: number, seed: number, shared = false, f64 = false): F {
  const bytes = n * (f64 ? 8 : 4);
  const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const a = f64 ? new Float64Array(buf) : new Float32Array(buf);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** C = A . B summed in float64, the reference. */
function naive(A: MatView, B: MatView, M: number, K: number, N: number): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A.data[A.offset + i * A.rowStride + k * A.colStride] * B.data[B.offset + k * B.rowStride + j * B.colStride];
      C[i * N + j] = s;
    }
  }
  return C;
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  return e;
}

/** Runs `fn` single-threaded and with 2 threads at a grain that splits even tiny products. */
function singleAndThreaded<T>(fn: () => T): [T, T] {
  const prevThreads = setCpuThreads(1);
  const prevGrain = setGemmGrain(0, 1);
  try {
    const one = fn();
    setCpuThreads(2);
    const two = fn();
    return [one, two];
  } finally {
    setCpuThreads(prevThreads);
    setGemmGrain(...prevGrain);
  }
}

const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [65, 129, 33], [1, 300, 70], [130, 600, 520], [9, 257, 11]];

describe('gemm', () => {
  afterEach(() => {
    expect(cpuThreads()).toBeGreaterThanOrEqual(1);
  });

  it.each(SHAPES)('%i x %i x %i matches a float64 reference (float32 and float64)', (M, K, N) => {
    for (const f64 of [false, true]) {
      const A = filled(M * K, 1, false, f64);
      const B = filled(K * N, 2, false, f64);
      const C = f64 ? new Float64Array(M * N) : new Float32Array(M * N);
      C.fill(Number.NaN); // gemm overwrites C
      gemm(A, B, C, M, K, N);
      const want = naive({ data: A, offset: 0, rowStride: K, colStride: 1 }, { data: B, offset: 0, rowStride: N, colStride: 1 }, M, K, N);
      expect(maxRelErr(C, want)).toBeLessThan(f64 ? 1e-12 : 2e-6);
    }
  });

  it('K = 0 gives zeros', () => {
    const C = new Float32Array(6).fill(7);
    gemm(new Float32Array(0), new Float32Array(0), C, 2, 0, 3);
    expect(Array.from(C)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it.each(SHAPES)('%i x %i x %i: 2 threads are bitwise equal to 1 (shared and unshared operands)', (M, K, N) => {
    for (const shared of [false, true]) {
      const A = filled(M * K, 3, shared);
      const B = filled(K * N, 4, shared);
      const [one, two] = singleAndThreaded(() => {
        const C = shared ? new Float32Array(new SharedArrayBuffer(M * N * 4)) : new Float32Array(M * N);
        gemm(A, B, C, M, K, N);
        return C;
      });
      expect(two).toEqual(one);
    }
    expect(poolWorkers()).toBeGreaterThanOrEqual(1);
  });

  it('2 threads on strided views (transposed A and B, offsets, ldc > N) equal 1 thread and the reference', () => {
    const [M, K, N] = [67, 300, 45];
    const a = filled(K * M + 5, 5, true); // A^T stored [K, M] after 5 elements
    const b = filled(N * K, 6, true); // B^T stored [N, K]
    const A: MatView = { data: a, offset: 5, rowStride: 1, colStride: M };
    const B: MatView = { data: b, offset: 0, rowStride: 1, colStride: K };
    const ldc = N + 3;
    const [one, two] = singleAndThreaded(() => {
      const C = new Float32Array(new SharedArrayBuffer((2 + M * ldc) * 4)).fill(-1);
      gemmStrided(A, B, C, 2, ldc, M, K, N);
      return C;
    });
    expect(two).toEqual(one);
    const want = naive(A, B, M, K, N);
    const got = new Float32Array(M * N);
    for (let i = 0; i < M; i++) got.set(one.subarray(2 + i * ldc, 2 + i * ldc + N), i * N);
    expect(maxRelErr(got, want)).toBeLessThan(2e-6);
    expect(one[0]).toBe(-1); // untouched before cOffset and in the padding columns
    expect(one[2 + N]).toBe(-1);
  });

  it('batched and transposed matmul on tensors: 2 threads equal 1 thread and the reference', () => {
    // [2, 70, 90] @ [2, 90, 40]^T-view, large enough for shared storage on one side only.
    const xs = filled(2 * 70 * 90, 7);
    const ws = filled(2 * 40 * 90, 8);
    const x = tensor(xs, { shape: [2, 70, 90] });
    const w = tensor(ws, { shape: [2, 40, 90] });
    const [one, two] = singleAndThreaded(() => matmul(x, transpose(w, 1, 2)).dataSync());
    expect(two).toEqual(one);
    for (let bi = 0; bi < 2; bi++) {
      const want = naive({ data: xs, offset: bi * 6300, rowStride: 90, colStride: 1 }, { data: ws, offset: bi * 3600, rowStride: 1, colStride: 90 }, 70, 90, 40);
      expect(maxRelErr(Array.from(one).slice(bi * 2800, (bi + 1) * 2800), want)).toBeLessThan(2e-6);
    }
  });

  it('a large product runs on the pool by default and is bitwise equal to one thread', () => {
    const [M, K, N] = [256, 256, 256];
    const A = filled(M * K, 9, true);
    const B = filled(K * N, 10, true);
    const run = (threads: number): Float32Array => {
      const prev = setCpuThreads(threads);
      try {
        const C = new Float32Array(new SharedArrayBuffer(M * N * 4));
        gemm(A, B, C, M, K, N);
        return C;
      } finally {
        setCpuThreads(prev);
      }
    };
    expect(run(2)).toEqual(run(1));
    expect(poolWorkers()).toBeGreaterThanOrEqual(1);
  });

  it('SEGLLM_CPU_THREADS and the core count give the thread count', () => {
    expect(threadsFromEnv('1', 2)).toBe(1);
    expect(threadsFromEnv('3', 2)).toBe(3);
    expect(threadsFromEnv(undefined, 2)).toBe(2);
    expect(threadsFromEnv('', 6)).toBe(6);
    expect(threadsFromEnv('zero', 2)).toBe(2);
    expect(threadsFromEnv(undefined, 64)).toBe(8);
    expect(() => setCpuThreads(0)).toThrow(RangeError);
    expect(cpu.info().threads).toBe(cpuThreads());
  });

  it('SEGLLM_CPU_THREADS=1 in the environment makes a fresh process single-threaded', () => {
    const code = "import { cpuThreads, cpu } from '@segllm/tensor'; console.log(cpuThreads(), cpu.info().threads);";
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--conditions=@segllm/source', '--import', 'tsx', '--input-type=module', '-e', code], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const one = run({ SEGLLM_CPU_THREADS: '1' });
    expect(one.stdout.trim(), one.stderr).toBe('1 1');
    const two = run({ SEGLLM_CPU_THREADS: '2' });
    expect(two.stdout.trim(), two.stderr).toBe('2 2');
  });
});
