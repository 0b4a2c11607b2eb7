/**
 * GEMV kernels (decode-shaped products): y[n0:n1] = x . B[:, n0:n1] with x a dense f32 row of K, B's elements
 * f32/f16/bf16 widened on the fly (the weights are read once, so half weights halve the memory traffic).
 *
 * - `gemv_dot_<t>(x, b, bcs, y, K, n0, n1)`: B column-contiguous (bcs = byte stride between columns; a Linear
 *   weight [N, K] seen as W^T): four columns at a time, SIMD dot products along K, two vectors per column per step.
 * - `gemv_axpy_<t>(x, b, brs, y, K, n0, n1)`: B row-contiguous (brs = byte stride between rows), eight rows
 *   per pass: y[n:n+1024] += x[k:k+8] . B[k:k+8, n:n+1024], rows streamed in order.
 * - `row_to_f32_<t>(src, cs, K, dst)`: a strided row to dense f32.
 * - `gemv_dot_f16f` / `gemv_axpy_f16f`: the float16 kernels for weights known to hold no Inf/NaN (four operations
 *   per four widened values instead of nine; the same values, so the same results as the exact kernels).
 * - `f16_nonfinite(p, n) -> i32`: whether n float16 words hold an Inf or NaN (the scan that allows the above).
 */
import { f32, f32x4, forRange, get, i16x8, i32, seq, set, v128, type Code } from '../emit/code.ts';
import { Locals, type FuncDef } from '../emit/module.ts';
import { ELEM_BYTES, FINITE_F16_CONSTS, loadScalar, loadVec, loadVecFiniteF16, type ElemType, type GemvElemType } from './elem.ts';

const TYPES: ElemType[] = ['f32', 'f16', 'bf16'];

const bytesOf = (t: GemvElemType): number => (t === 'f16f' ? 2 : ELEM_BYTES[t]);

/**
 * Vector loads of a kernel: 'f16f' takes the finite-only widening with its constants in two locals (`init` sets
 * them, first thing in the body); scalar tails always widen exactly.
 */
function vecLoader(t: GemvElemType, L: Locals): { init: Code; load: (addr: Code, off?: number) => Code } {
  if (t !== 'f16f') return { init: [], load: (addr, off = 0) => loadVec(t, addr, L, off) };
  const [mask, scale] = [L.v128(), L.v128()];
  return {
    init: seq(set(mask, v128.i32x4(FINITE_F16_CONSTS.mask)), set(scale, v128.i32x4(FINITE_F16_CONSTS.scale))),
    load: (addr, off = 0) => loadVecFiniteF16(addr, get(mask), get(scale), off),
  };
}
const scalarLoad = (t: GemvElemType, addr: Code, L: Locals): Code => loadScalar(t === 'f16f' ? 'f16' : t, addr, L);

function dot(t: GemvElemType, fma: boolean): FuncDef {
  const params = Array<'i32'>(7).fill('i32');
  const [x, b, bcs, y, K, n0, n1] = [0, 1, 2, 3, 4, 5, 6];
  const L = new Locals(params);
  const eb = bytesOf(t);
  const V = vecLoader(t, L);
  const [n, k, k8, k4, tmpS] = [L.i32(), L.i32(), L.i32(), L.i32(), L.f32()];
  const cols = Array.from({ length: 4 }, () => L.i32());
  const acc = Array.from({ length: 8 }, () => L.v128());
  const xv = [L.v128(), L.v128()];
  const hs = L.v128();
  const sums = Array.from({ length: 4 }, () => L.f32());
  const col0 = L.i32();
  const block = seq(
    ...cols.map((c, j) => set(c, i32.add(get(b), i32.mul(i32.add(get(n), i32.c(j)), get(bcs))))),
    ...acc.map((a) => set(a, v128.f32x4(0))),
    forRange(k, i32.c(0), get(k8), 8, seq(
      set(xv[0], v128.load(i32.add(get(x), i32.shl(get(k), i32.c(2))))),
      set(xv[1], v128.load(i32.add(get(x), i32.shl(get(k), i32.c(2))), 16)),
      ...cols.flatMap((c, j) => [
        set(acc[2 * j], f32x4.madd(get(xv[0]), V.load(get(c)), get(acc[2 * j]), fma)),
        set(acc[2 * j + 1], f32x4.madd(get(xv[1]), V.load(get(c), 4 * eb), get(acc[2 * j + 1]), fma)),
        set(c, i32.add(get(c), i32.c(8 * eb))),
      ]),
    )),
    ...cols.map((_, j) => set(sums[j], f32x4.hsum(f32x4.add(get(acc[2 * j]), get(acc[2 * j + 1])), hs))),
    // K tail.
    forRange(k, get(k8), get(K), 1, seq(
      set(tmpS, f32.load(i32.add(get(x), i32.shl(get(k), i32.c(2))))),
      ...cols.flatMap((c, j) => [
        set(sums[j], f32.add(get(sums[j]), f32.mul(get(tmpS), scalarLoad(t, get(c), L)))),
        set(c, i32.add(get(c), i32.c(eb))),
      ]),
    )),
    ...sums.map((s, j) => f32.store(i32.add(get(y), i32.shl(get(n), i32.c(2))), get(s), 4 * j)),
  );
  // Leftover columns one at a time.
  const single = seq(
    set(col0, i32.add(get(b), i32.mul(get(n), get(bcs)))),
    set(acc[0], v128.f32x4(0)),
    forRange(k, i32.c(0), get(k4), 4, seq(
      set(acc[0], f32x4.madd(v128.load(i32.add(get(x), i32.shl(get(k), i32.c(2)))), V.load(get(col0)), get(acc[0]), fma)),
      set(col0, i32.add(get(col0), i32.c(4 * eb))),
    )),
    set(sums[0], f32x4.hsum(get(acc[0]), hs)),
    forRange(k, get(k4), get(K), 1, seq(
      set(sums[0], f32.add(get(sums[0]), f32.mul(f32.load(i32.add(get(x), i32.shl(get(k), i32.c(2)))), scalarLoad(t, get(col0), L)))),
      set(col0, i32.add(get(col0), i32.c(eb))),
    )),
    f32.store(i32.add(get(y), i32.shl(get(n), i32.c(2))), get(sums[0])),
  );
  const body = seq(
    V.init,
    set(k8, i32.and(get(K), i32.c(~7))),
    set(k4, i32.and(get(K), i32.c(~3))),
    set(n, get(n0)),
    forRange(n, get(n0), i32.sub(get(n1), i32.c(3)), 4, block),
    forRange(n, get(n), get(n1), 1, single),
  );
  return { name: `gemv_dot_${t}`, params, locals: L.types, body };
}

function axpy(t: GemvElemType, fma: boolean): FuncDef {
  // Streams B row by row (prefetch-friendly, one page at a time), RB rows per pass, over chunks of NB columns
  // whose f32 partial sums stay in L1 (y itself is the accumulator).
  const NB = 1024;
  const RB = 8; // rows of B per pass
  const params = Array<'i32'>(7).fill('i32');
  const [x, b, brs, y, K, n0, n1] = [0, 1, 2, 3, 4, 5, 6];
  const L = new Locals(params);
  const eb = bytesOf(t);
  const V = vecLoader(t, L);
  const [nb, nlen, n4, n, k, k4, yp, bp] = Array.from({ length: 8 }, () => L.i32());
  const rows = Array.from({ length: RB }, () => L.i32());
  const xs = Array.from({ length: RB }, () => L.v128());
  const s = L.f32();
  const xAt = (kk: Code): Code => i32.add(get(x), i32.shl(kk, i32.c(2)));
  const yAt = (nn: Code): Code => i32.add(get(yp), i32.shl(nn, i32.c(2)));
  const rowBlock = seq(
    ...xs.map((v, r) => set(v, v128.load32Splat(xAt(get(k)), 4 * r))),
    set(rows[0], i32.add(i32.add(get(b), i32.mul(get(k), get(brs))), i32.mul(get(nb), i32.c(eb)))),
    ...rows.slice(1).map((r, i) => set(r, i32.add(get(rows[i]), get(brs)))),
    forRange(n, i32.c(0), get(n4), 4, seq(
      set(bp, i32.mul(get(n), i32.c(eb))),
      v128.store(yAt(get(n)), rows.reduce<Code>((acc, r, i) => f32x4.madd(get(xs[i]), V.load(i32.add(get(r), get(bp))), acc, fma), v128.load(yAt(get(n))))),
    )),
    forRange(n, get(n4), get(nlen), 1, seq(
      set(bp, i32.mul(get(n), i32.c(eb))),
      f32.store(yAt(get(n)), rows.reduce<Code>((acc, r, i) => f32.add(acc, f32.mul(f32x4.lane(get(xs[i]), 0), scalarLoad(t, i32.add(get(r), get(bp)), L))), f32.load(yAt(get(n))))),
    )),
  );
  const oneRow = seq(
    set(s, f32.load(xAt(get(k)))),
    set(rows[0], i32.add(i32.add(get(b), i32.mul(get(k), get(brs))), i32.mul(get(nb), i32.c(eb)))),
    forRange(n, i32.c(0), get(nlen), 1,
      f32.store(yAt(get(n)), f32.add(f32.load(yAt(get(n))), f32.mul(get(s), scalarLoad(t, i32.add(get(rows[0]), i32.mul(get(n), i32.c(eb))), L))))),
  );
  const body = seq(
    V.init,
    set(k4, i32.and(get(K), i32.c(-RB))),
    forRange(nb, get(n0), get(n1), NB, seq(
      set(nlen, i32.sub(get(n1), get(nb))), set(nlen, i32.min(get(nlen), i32.c(NB))),
      set(n4, i32.and(get(nlen), i32.c(~3))),
      set(yp, i32.add(get(y), i32.shl(get(nb), i32.c(2)))),
      forRange(n, i32.c(0), get(nlen), 1, f32.store(yAt(get(n)), f32.c(0))),
      forRange(k, i32.c(0), get(k4), RB, rowBlock),
      forRange(k, get(k4), get(K), 1, oneRow),
    )),
  );
  return { name: `gemv_axpy_${t}`, params, locals: L.types, body };
}

function rowToF32(t: ElemType): FuncDef {
  const params = Array<'i32'>(4).fill('i32');
  const [src, cs, K, dst] = [0, 1, 2, 3];
  const L = new Locals(params);
  const k = L.i32();
  const body: Code = forRange(k, i32.c(0), get(K), 1,
    f32.store(i32.add(get(dst), i32.shl(get(k), i32.c(2))), scalarLoad(t, i32.add(get(src), i32.mul(get(k), get(cs))), L)));
  return { name: `row_to_f32_${t}`, params, locals: L.types, body };
}

/** f16_nonfinite(p, n) -> 1 when any of the n float16 words at p is Inf or NaN (exponent bits all ones), else 0. */
function f16NonFinite(): FuncDef {
  const params = Array<'i32'>(2).fill('i32');
  const [p, n] = [0, 1];
  const L = new Locals(params);
  const [i, n32, bad] = [L.i32(), L.i32(), L.i32()];
  const acc = L.v128();
  const exp = i16x8.c(0x7c00);
  const at = (): Code => i32.add(get(p), i32.shl(get(i), i32.c(1)));
  const hit = (off: number): Code => i16x8.eq(v128.and(v128.load(at(), off), exp), exp);
  const body = seq(
    set(acc, v128.i32x4(0)),
    set(n32, i32.and(get(n), i32.c(~31))),
    forRange(i, i32.c(0), get(n32), 32, set(acc, v128.or(get(acc), v128.or(v128.or(hit(0), hit(16)), v128.or(hit(32), hit(48)))))),
    set(bad, v128.anyTrue(get(acc))),
    forRange(i, get(n32), get(n), 1,
      set(bad, i32.or(get(bad), i32.eq(i32.and(i32.load16U(at()), i32.c(0x7c00)), i32.c(0x7c00))))),
    get(bad),
  );
  return { name: 'f16_nonfinite', params, result: 'i32', locals: L.types, body };
}

export function gemvKernels(fma: boolean): (() => FuncDef)[] {
  return [
    ...TYPES.flatMap((t) => [() => dot(t, fma), () => axpy(t, fma), () => rowToF32(t)]),
    () => dot('f16f', fma),
    () => axpy('f16f', fma),
    () => f16NonFinite(),
  ];
}
