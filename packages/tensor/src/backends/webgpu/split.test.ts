/**
 * Tensors split across GPU buffers (larger than maxStorageBufferBindingSize): chunks hold whole rows of the last dim,
 * so a weight whose row length does not divide the limit (LLaMA-7B's down_proj, f32 [4096, 11008]) still serves
 * linear (matmul with B = W^T) and embedding (index_select). The split threshold is lowered for the test so that a
 * small weight spans several buffers; results are compared with the CPU backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import { UnsupportedError, getBackend } from '../../backend.ts';
import { tensor } from '../../tensor.ts';
import * as ops from '../../ops/index.ts';
import { copyInto } from '../../ops/copy/copy.ts';
import { zeros } from '../../tensor.ts';
import { chunkElements, setChunkLimitForTesting } from './backend.ts';

const hasGpu = (await availableBackends()).includes('webgpu');
/** float16 storage needs the adapter's shader-f16 feature. */
const f16 = hasGpu && getBackend('webgpu').supports('matmul', 'float16');

describe('chunkElements', () => {
  it('keeps whole rows per buffer at the adapter limit', () => {
    // lavapipe: 128 MiB per binding; f32 rows of 11008 (down_proj): 3048 rows = 134,209,536 bytes per buffer
    expect(chunkElements(2 ** 27, 4, 11008)).toBe(3048 * 11008);
    // f16 embedding rows of 4096: 16384 rows (the old power-of-two chunk)
    expect(chunkElements(2 ** 27, 2, 4096)).toBe(16384 * 4096);
    // 1-d data: multiples of 16 elements
    expect(chunkElements(2 ** 27, 4, 1)).toBe(2 ** 25);
    // a limit that is not a size class (2^31 - 4): chunks stay within the largest class below it (1.75 * 2^30)
    expect(chunkElements(2 ** 31 - 4, 4, 11008) * 4).toBeLessThanOrEqual(1.75 * 2 ** 30);
    expect(chunkElements(2 ** 31 - 4, 4, 11008) % 11008).toBe(0);
  });
  it('refuses a row larger than one buffer with a typed error', () => {
    expect(() => chunkElements(1024, 4, 300)).toThrow(UnsupportedError);
  });
});

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
};

describe.skipIf(!hasGpu)('webgpu weights split across buffers, rows not dividing the limit', () => {
  afterEach(() => setChunkLimitForTesting(null));

  // W [50, 40] f32 (160-byte rows); limit 2100 bytes: 12 rows (1920 bytes) per buffer -> chunks of 12, 12, 12, 12, 2
  // rows. The old chunking (a multiple of 16 elements: 512) cut rows apart and refused the matmul. Inputs and outputs
  // stay below the limit (only the weight is split).
  const [V, D] = [50, 40];
  const LIMIT = 2100;
  const wv = seq(V * D, (i) => Math.sin(i * 0.37));

  it('linear (GEMV and tiled), embedding and readback match the CPU', async () => {
    const ids = [0, 11, 12, 23, 24, 47, 48, 49, 5, -1, 50, 36];
    const xv = seq(9 * D, (i) => Math.cos(i * 0.3));
    const cw = tensor(wv, { shape: [V, D] });
    const ref = {
      emb: await ops.embedding(tensor(ids.map((i) => Math.max(0, Math.min(V - 1, i))), { dtype: 'int32' }), cw).data(),
      lin: await ops.linear(tensor(xv, { shape: [9, D] }), cw).data(),
      lin1: await ops.linear(tensor(xv.slice(0, D), { shape: [1, D] }), cw).data(),
      linb: await ops.linear(tensor(xv.slice(0, 2 * D), { shape: [2, D] }), cw, tensor(seq(V, (i) => i * 0.1))).data(),
    };
    setChunkLimitForTesting(LIMIT);
    const w = tensor(wv, { shape: [V, D], backend: 'webgpu' });
    const chunks = (w.storage as { chunks?: { start: number; count: number }[] }).chunks;
    expect(chunks?.map((c) => c.count / D)).toEqual([12, 12, 12, 12, 2]);
    expect(Array.from(await w.data())).toEqual(Array.from(new Float32Array(wv)));
    // in-range ids against the CPU (ids clamped there); out-of-range ids read zeros on the GPU
    const e = await ops.indexSelect(w, 0, tensor(ids, { dtype: 'int32', backend: 'webgpu' })).data();
    for (let k = 0; k < ids.length; k++) {
      const inRange = ids[k] >= 0 && ids[k] < V;
      for (let j = 0; j < D; j++) expect(e[k * D + j]).toBe(inRange ? ref.emb[k * D + j] : 0);
    }
    const x = tensor(xv, { shape: [9, D], backend: 'webgpu' });
    expect(maxDiff(await ops.linear(x, w).data(), ref.lin)).toBeLessThan(1e-5);
    expect(maxDiff(await ops.linear(x.narrow(0, 0, 1), w).data(), ref.lin1)).toBeLessThan(1e-5);
    const bias = tensor(seq(V, (i) => i * 0.1), { backend: 'webgpu' });
    expect(maxDiff(await ops.linear(x.narrow(0, 0, 2), w, bias).data(), ref.linb)).toBeLessThan(1e-5);
  });

  it.skipIf(!f16)('float16 weights split by rows (needs shader-f16)', async () => {
    const xv = seq(5 * D, (i) => Math.cos(i * 0.7));
    const ref = await ops.linear(tensor(xv, { shape: [5, D] }).to('float16'), tensor(wv, { shape: [V, D] }).to('float16')).to('float32').data();
    setChunkLimitForTesting(1100); // 80-byte rows: 13 rows would fit 1100 bytes, the largest size class below (1024) holds 12
    const w = tensor(wv, { shape: [V, D], dtype: 'float16', backend: 'webgpu' });
    expect((w.storage as { chunks?: { count: number }[] }).chunks?.map((c) => c.count / D)).toEqual([12, 12, 12, 12, 2]);
    const y = ops.linear(tensor(xv, { shape: [5, D], dtype: 'float16', backend: 'webgpu' }), w);
    setChunkLimitForTesting(null); // so that the float32 copy of y is not split
    expect(maxDiff(await y.to('float32').data(), ref)).toBeLessThan(2e-2);
  });

  it('copies to and from split tensors (loading weights with copyInto, casts with other chunkings)', async () => {
    setChunkLimitForTesting(LIMIT);
    // loading a checkpoint: a split parameter filled from a split source of the same shape
    const dst = zeros([V, D], { backend: 'webgpu' });
    const src = tensor(wv, { shape: [V, D], backend: 'webgpu' });
    expect((dst.storage as { chunks?: unknown[] }).chunks?.length).toBe(5);
    copyInto(dst, src);
    expect(Array.from(await dst.data())).toEqual(Array.from(new Float32Array(wv)));
    // float32 -> float16 -> float32: the float16 copy holds 25 rows per buffer (the float32 one 12), so chunks overlap unevenly
    if (f16) {
      const h = src.to('float16');
      expect((h.storage as { chunks?: { count: number }[] }).chunks?.map((c) => c.count / D)).toEqual([25, 25]);
      const back = await h.to('float32').data();
      const want = await tensor(wv, { shape: [V, D] }).to('float16').to('float32').data();
      expect(Array.from(back)).toEqual(Array.from(want));
    }
    // a contiguous slice of a split tensor copied out (offset inside the second chunk, crossing into the third)
    const part = await src.narrow(0, 20, 10).contiguous().data();
    expect(Array.from(part)).toEqual(Array.from(new Float32Array(wv.slice(20 * D, 30 * D))));
    // strided copies of split tensors are refused
    expect(() => src.transpose(0, 1).contiguous()).toThrow(UnsupportedError);
  });

  it('refuses a split tensor anywhere a kernel cannot read it, instead of computing garbage', () => {
    setChunkLimitForTesting(LIMIT);
    const w = tensor(wv, { shape: [V, D], backend: 'webgpu' });
    const small = tensor(seq(D * 3, (i) => i), { shape: [D, 3], backend: 'webgpu' });
    expect(() => w.add(1)).toThrow(UnsupportedError);
    // the split tensor as A (not the weight) of matmul
    expect(() => ops.matmul(w, small)).toThrow(/split across GPU buffers/);
    // an output that would itself be split: [12, 50] f32 = 2400 bytes (the input, 1920 bytes, is not)
    const a = tensor(seq(12 * D, (i) => i * 0.01), { shape: [12, D], backend: 'webgpu' });
    expect((a.storage as { chunks?: unknown[] }).chunks).toBeUndefined();
    expect(() => ops.linear(a, w)).toThrow(/split across GPU buffers/);
  });
});
