/**
 * The CPU kernels walk rows of a collapsed layout (backends/cpu/iter.ts forEachRow) with per-op loops; these cases
 * check every layout kind they meet (dense, row/column/scalar broadcast, transposed and sliced views, casts, each
 * reduction dims pattern) against values computed here element by element. CPU backends must match exactly.
 */
import { describe, expect, it } from 'vitest';
import { argmax, max, sum, tensor, where, type Tensor } from '@segllm/tensor';
import { availableBackends, compareArrays } from '@segllm/tensor/testing';

const backends = await availableBackends();
const f32 = Math.fround;

/** Values exact in float32: multiples of 1/4 in [-2, 2], none zero. */
const vals = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((((i * 37 + seed * 11) % 17) - 8) || 3) / 4);

/** Row-major element list of a (possibly strided or broadcast) tensor, expanded to [3, 5, 8]. */
async function flat(t: Tensor): Promise<number[]> {
  return Array.from(await t.expand([3, 5, 8]).contiguous().data());
}

/** Float64 sum (or max) of x over `dims` of [3, 5, 8], each output's elements taken in row-major order. */
function reduceRef(x: number[], dims: number[], op: 'sum' | 'max'): number[] {
  const shape = [3, 5, 8];
  const keep = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const out = new Array<number>(keep[0] * keep[1] * keep[2]).fill(op === 'sum' ? 0 : -Infinity);
  x.forEach((v, i) => {
    const idx = [Math.floor(i / 40), Math.floor(i / 8) % 5, i % 8].map((c, d) => (dims.includes(d) ? 0 : c));
    const k = (idx[0] * keep[1] + idx[1]) * keep[2] + idx[2];
    out[k] = op === 'sum' ? out[k] + v : Math.max(out[k], v);
  });
  return out.map(f32);
}

describe.each(backends)('elementwise and reduce layouts on %s', (backend) => {
  const exact = backend === 'cpu' || backend === 'cpu-wasm';
  const check = (got: number[], want: number[]) => {
    if (exact) expect(got).toEqual(want);
    else expect(compareArrays(got, want, { atol: 1e-5, rtol: 1e-5 }).ok).toBe(true);
  };
  const a = tensor(vals(120, 1), { backend, shape: [3, 5, 8] });
  const at = tensor(vals(120, 2), { backend, shape: [5, 3, 8] }).transpose(0, 1); // [3, 5, 8], strided
  const row = tensor(vals(8, 3), { backend, shape: [8] });
  const col = tensor(vals(15, 4), { backend, shape: [3, 5, 1] });
  const wide = tensor(vals(3 * 5 * 16, 5), { backend, shape: [3, 5, 16] }).slice(2, 0, 16, 2); // [3, 5, 8], step 2

  it('binary ops and where match per-element arithmetic on every operand layout', async () => {
    const A = await flat(a);
    const At = await flat(at);
    for (const b of [a, at, row, col, wide]) {
      const B = await flat(b);
      check(await flat(a.add(b)), A.map((x, i) => f32(x + B[i])));
      check(await flat(at.sub(b)), At.map((x, i) => f32(x - B[i])));
      check(await flat(b.mul(a)), A.map((x, i) => f32(B[i] * x)));
      check(await flat(a.div(b)), A.map((x, i) => f32(x / B[i])));
      check(await flat(at.maximum(b)), At.map((x, i) => Math.max(x, B[i])));
      check(await flat(at.gt(b).toFloat()), At.map((x, i) => +(x > B[i])));
      check(await flat(where(a.gt(0), b, at)), A.map((x, i) => (x > 0 ? B[i] : At[i])));
    }
    check(await flat(wide.mul(0.5)), (await flat(wide)).map((x) => x * 0.5));
    check(await flat(at.exp()), At.map((x) => f32(Math.exp(x))));
  });

  it('copies and casts strided views exactly', async () => {
    const At = await flat(at);
    check(await flat(at.contiguous()), At);
    check(await flat(at.mul(3).to('int32').toFloat()), At.map((x) => Math.trunc(x * 3) || 0));
    check(await flat(wide.to('bool').toFloat()), (await flat(wide)).map((x) => +(x !== 0)));
  });

  it('reduces leading, trailing, middle and mixed dims in row-major order', async () => {
    for (const x of [a, at, wide]) {
      const X = await flat(x);
      for (const dims of [[0], [0, 1], [2], [1, 2], [1], [0, 2], [0, 1, 2]]) {
        check(Array.from(await sum(x, dims).data()), reduceRef(X, dims, 'sum'));
        check(Array.from(await max(x, dims).data()), reduceRef(X, dims, 'max'));
      }
      // argmax over the middle dim: the first maximum's index.
      const want = Array.from({ length: 24 }, (_, k) => {
        const col5 = [0, 1, 2, 3, 4].map((j) => X[Math.floor(k / 8) * 40 + j * 8 + (k % 8)]);
        return col5.indexOf(Math.max(...col5));
      });
      expect(Array.from(await argmax(x, 1).data())).toEqual(want);
    }
  });
});
