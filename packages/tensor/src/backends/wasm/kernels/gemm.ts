/**
 * The packed, register-blocked SIMD GEMM (GotoBLAS structure) as generated WebAssembly functions.
 *
 * `gemm_<a><b>(a, ars, acs, b, brs, bcs, c, ldc, M0, M1, K, N0, N1, scratch)`: C[M0:M1, N0:N1] = A[M0:M1, :] . B[:, N0:N1]
 * where A [M, K] and B [K, N] are strided views (byte pointers and byte strides, element types <a> and <b> among
 * f32/f16/bf16), C is f32 row-major with leading dimension ldc (bytes). C is overwritten. `scratch` points to a
 * per-thread area of SCRATCH_BYTES. Summation: f32, each output summed over K in blocks of KC (k ascending), block
 * sums added to C, so every split of the output region gives bitwise identical results.
 *
 * Loops: N in blocks of NC (B panel packed to [NC/NR][KC][NR]), K in blocks of KC, M in blocks of MC (A packed to
 * [MC/MR][KC][MR]), then MR x NR register tiles of f32x4 accumulators (MR rows x NR/4 vectors).
 */
import { call, f32, f32x4, forRange, get, i32, ifThen, seq, set, v128, type Code } from '../emit/code.ts';
import { Locals, type FuncDef } from '../emit/module.ts';
import { ELEM_BYTES, loadScalar, loadVec, type ElemType } from './elem.ts';

export const MR = 4;
export const NR = 8;
export const KC = 256;
export const MC = 96;
export const NC = 1024;
export const TMP_BYTES = MR * NR * 4;
export const SCRATCH_BYTES = MC * KC * 4 + KC * NC * 4 + TMP_BYTES;

/** Function indices are resolved by name when the module is assembled. */
export type FnIndex = (name: string) => number;

/** micro(ap, bp, kc, c, ldc, accumulate): the MR x NR tile C (+)= Apanel . Bpanel. */
export function microKernel(fma: boolean): FuncDef {
  const params = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'] as const;
  const [ap, bp, kc, c, ldc, accum] = [0, 1, 2, 3, 4, 5];
  const L = new Locals([...params]);
  const k = L.i32();
  const acc = Array.from({ length: MR }, () => Array.from({ length: NR / 4 }, () => L.v128()));
  const bv = Array.from({ length: NR / 4 }, () => L.v128());
  const av = L.v128();
  const body: Code[] = [];
  const zero = v128.f32x4(0);
  for (const row of acc) for (const a of row) body.push(set(a, zero));
  const inner: Code[] = [];
  bv.forEach((b, j) => inner.push(set(b, v128.load(get(bp), 16 * j))));
  acc.forEach((row, r) => {
    inner.push(set(av, v128.load32Splat(get(ap), 4 * r)));
    row.forEach((a, j) => inner.push(set(a, f32x4.madd(get(av), get(bv[j]), get(a), fma))));
  });
  inner.push(set(ap, i32.add(get(ap), i32.c(MR * 4))), set(bp, i32.add(get(bp), i32.c(NR * 4))));
  body.push(forRange(k, i32.c(0), get(kc), 1, seq(...inner)));
  const crow = L.i32();
  const stores: Code[] = [set(crow, get(c))];
  const loads: Code[] = [];
  acc.forEach((row) => {
    row.forEach((a, j) => {
      loads.push(set(a, f32x4.add(get(a), v128.load(get(crow), 16 * j))));
      stores.push(v128.store(get(crow), get(a), 16 * j));
    });
    loads.push(set(crow, i32.add(get(crow), get(ldc))));
    stores.push(set(crow, i32.add(get(crow), get(ldc))));
  });
  body.push(ifThen(get(accum), seq(set(crow, get(c)), ...loads)));
  body.push(...stores);
  return { name: 'micro', params: [...params], locals: L.types, body: seq(...body), exported: false };
}

/** macro(ap, bp, mc, nc, kc, c, ldc, accumulate, tmp): all register tiles of one packed A block and B panel. */
export function macroKernel(fn: FnIndex): FuncDef {
  const params = Array<'i32'>(9).fill('i32');
  const [ap, bp, mc, nc, kc, c, ldc, accum, tmp] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const L = new Locals(params);
  const [jp, ip, mr, nr, ii, jj, cp] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  const aPanel = i32.add(get(ap), i32.mul(get(ip), i32.shl(get(kc), i32.c(2))));
  const bPanel = i32.add(get(bp), i32.mul(get(jp), i32.shl(get(kc), i32.c(2))));
  // Edge tile: through tmp (MR x NR, ldc NR*4), copying the valid part of C in (when accumulating) and out.
  const cAt = i32.add(get(cp), i32.add(i32.mul(get(ii), get(ldc)), i32.shl(get(jj), i32.c(2))));
  const tAt = i32.add(get(tmp), i32.shl(i32.add(i32.mul(get(ii), i32.c(NR)), get(jj)), i32.c(2)));
  const copyIn = forRange(ii, i32.c(0), get(mr), 1, forRange(jj, i32.c(0), get(nr), 1, f32.store(tAt, f32.load(cAt))));
  const copyOut = forRange(ii, i32.c(0), get(mr), 1, forRange(jj, i32.c(0), get(nr), 1, f32.store(cAt, f32.load(tAt))));
  const tile = seq(
    set(mr, i32.sub(get(mc), get(ip))),
    set(mr, i32.min(get(mr), i32.c(MR))),
    set(nr, i32.sub(get(nc), get(jp))),
    set(nr, i32.min(get(nr), i32.c(NR))),
    set(cp, i32.add(get(c), i32.add(i32.mul(get(ip), get(ldc)), i32.shl(get(jp), i32.c(2))))),
    ifThen(
      i32.and(i32.eq(get(mr), i32.c(MR)), i32.eq(get(nr), i32.c(NR))),
      call(fn('micro'), aPanel, bPanel, get(kc), get(cp), get(ldc), get(accum)),
      seq(
        ifThen(get(accum), copyIn),
        call(fn('micro'), aPanel, bPanel, get(kc), get(tmp), i32.c(NR * 4), get(accum)),
        copyOut,
      ),
    ),
  );
  const body = forRange(jp, i32.c(0), get(nc), NR, forRange(ip, i32.c(0), get(mc), MR, tile));
  return { name: 'macro', params, locals: L.types, body, exported: false };
}

/** Transposes the 4x4 block held in locals r (rows) with scratch locals t; `out(j, v)` stores column j. */
function transpose4(r: number[], t: number[], out: (j: number, v: Code) => Code): Code {
  return seq(
    set(t[0], v128.shuffle32(get(r[0]), get(r[1]), [0, 4, 1, 5])),
    set(t[1], v128.shuffle32(get(r[2]), get(r[3]), [0, 4, 1, 5])),
    set(t[2], v128.shuffle32(get(r[0]), get(r[1]), [2, 6, 3, 7])),
    set(t[3], v128.shuffle32(get(r[2]), get(r[3]), [2, 6, 3, 7])),
    out(0, v128.shuffle32(get(t[0]), get(t[1]), [0, 1, 4, 5])),
    out(1, v128.shuffle32(get(t[0]), get(t[1]), [2, 3, 6, 7])),
    out(2, v128.shuffle32(get(t[2]), get(t[3]), [0, 1, 4, 5])),
    out(3, v128.shuffle32(get(t[2]), get(t[3]), [2, 3, 6, 7])),
  );
}

/** packA_<t>(a, ars, acs, mc, kc, dst): A[0:mc, 0:kc] -> [ceil(mc/MR)][kc][MR] f32, zero-padded rows. */
export function packA(t: ElemType): FuncDef {
  const params = Array<'i32'>(6).fill('i32');
  const [a, ars, acs, mc, kc, dst] = [0, 1, 2, 3, 4, 5];
  const L = new Locals(params);
  const [ip, k, ii, src, d, row] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  const rows = Array.from({ length: MR }, () => L.i32());
  const eb = ELEM_BYTES[t];
  // Full panels of a row-contiguous A: four k at a time, MR rows loaded as vectors and transposed.
  const [k4, rv, tv] = [L.i32(), Array.from({ length: MR }, () => L.v128()), Array.from({ length: 4 }, () => L.v128())];
  const fullVec = seq(
    ...rows.map((r, i) => set(r, i32.add(get(a), i32.mul(i32.add(get(ip), i32.c(i)), get(ars))))),
    set(k4, i32.and(get(kc), i32.c(~3))),
    forRange(k, i32.c(0), get(k4), 4, seq(
      ...rows.map((r, i) => set(rv[i], loadVec(t, get(r), L))),
      transpose4(rv, tv, (j, v) => v128.store(get(d), v, 16 * j)),
      ...rows.map((r) => set(r, i32.add(get(r), i32.c(4 * eb)))),
      set(d, i32.add(get(d), i32.c(MR * 16))),
    )),
    forRange(k, get(k4), get(kc), 1, seq(
      ...rows.map((r, i) => seq(f32.store(get(d), loadScalar(t, get(r), L), 4 * i), set(r, i32.add(get(r), i32.c(eb))))),
      set(d, i32.add(get(d), i32.c(MR * 4))),
    )),
  );
  // Full panels otherwise: MR row pointers advanced by acs.
  const full = seq(
    ...rows.map((r, i) => set(r, i32.add(get(a), i32.mul(i32.add(get(ip), i32.c(i)), get(ars))))),
    forRange(k, i32.c(0), get(kc), 1, seq(
      ...rows.map((r, i) => seq(f32.store(get(d), loadScalar(t, get(r), L), 4 * i), set(r, i32.add(get(r), get(acs))))),
      set(d, i32.add(get(d), i32.c(MR * 4))),
    )),
  );
  const edge = forRange(k, i32.c(0), get(kc), 1, seq(
    forRange(ii, i32.c(0), i32.c(MR), 1, seq(
      set(row, i32.add(get(ip), get(ii))),
      ifThen(
        i32.lt(get(row), get(mc)),
        seq(set(src, i32.add(get(a), i32.add(i32.mul(get(row), get(ars)), i32.mul(get(k), get(acs))))),
          f32.store(i32.add(get(d), i32.shl(get(ii), i32.c(2))), loadScalar(t, get(src), L))),
        f32.store(i32.add(get(d), i32.shl(get(ii), i32.c(2))), f32.c(0)),
      ),
    )),
    set(d, i32.add(get(d), i32.c(MR * 4))),
  ));
  const body = seq(set(d, get(dst)), forRange(ip, i32.c(0), get(mc), MR,
    ifThen(i32.le(i32.add(get(ip), i32.c(MR)), get(mc)), ifThen(i32.eq(get(acs), i32.c(eb)), fullVec, full), edge)));
  return { name: `packA_${t}`, params, locals: L.types, body, exported: false };
}

/** packB_<t>(b, brs, bcs, kc, nc, dst): B[0:kc, 0:nc] -> [ceil(nc/NR)][kc][NR] f32, zero-padded columns. */
export function packB(t: ElemType): FuncDef {
  const params = Array<'i32'>(6).fill('i32');
  const [b, brs, bcs, kc, nc, dst] = [0, 1, 2, 3, 4, 5];
  const L = new Locals(params);
  const [jp, k, jj, d, src, col] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  const eb = ELEM_BYTES[t];
  // Row-contiguous B and a full panel: NR/4 vector loads per row.
  const vecPanel = seq(
    set(src, i32.add(get(b), i32.mul(get(jp), get(bcs)))),
    forRange(k, i32.c(0), get(kc), 1, seq(
      ...Array.from({ length: NR / 4 }, (_, j) => v128.store(get(d), loadVec(t, get(src), L, 4 * j * eb), 16 * j)),
      set(src, i32.add(get(src), get(brs))),
      set(d, i32.add(get(d), i32.c(NR * 4))),
    )),
  );
  // Otherwise element by element (column-contiguous B walks each column along k; zero padding at the edge).
  const cols = Array.from({ length: NR }, () => L.i32());
  // Column-contiguous B (a Linear weight seen transposed) and a full panel: four k at a time, NR columns loaded as
  // vectors and transposed in 4x4 blocks.
  const [k4, cv, tv] = [L.i32(), Array.from({ length: NR }, () => L.v128()), Array.from({ length: 4 }, () => L.v128())];
  const colVec = seq(
    ...cols.map((cc, j) => set(cc, i32.add(get(b), i32.mul(i32.add(get(jp), i32.c(j)), get(bcs))))),
    set(k4, i32.and(get(kc), i32.c(~3))),
    forRange(k, i32.c(0), get(k4), 4, seq(
      ...cols.map((cc, j) => set(cv[j], loadVec(t, get(cc), L))),
      ...Array.from({ length: NR / 4 }, (_, q) => transpose4(cv.slice(4 * q, 4 * q + 4), tv, (kk, v) => v128.store(get(d), v, kk * NR * 4 + 16 * q))),
      ...cols.map((cc) => set(cc, i32.add(get(cc), i32.c(4 * eb)))),
      set(d, i32.add(get(d), i32.c(4 * NR * 4))),
    )),
    forRange(k, get(k4), get(kc), 1, seq(
      ...cols.map((cc, j) => seq(f32.store(get(d), loadScalar(t, get(cc), L), 4 * j), set(cc, i32.add(get(cc), i32.c(eb))))),
      set(d, i32.add(get(d), i32.c(NR * 4))),
    )),
  );
  const scalarFull = seq(
    ...cols.map((cc, j) => set(cc, i32.add(get(b), i32.mul(i32.add(get(jp), i32.c(j)), get(bcs))))),
    forRange(k, i32.c(0), get(kc), 1, seq(
      ...cols.map((cc, j) => seq(f32.store(get(d), loadScalar(t, get(cc), L), 4 * j), set(cc, i32.add(get(cc), get(brs))))),
      set(d, i32.add(get(d), i32.c(NR * 4))),
    )),
  );
  const scalarEdge = forRange(k, i32.c(0), get(kc), 1, seq(
    forRange(jj, i32.c(0), i32.c(NR), 1, seq(
      set(col, i32.add(get(jp), get(jj))),
      ifThen(
        i32.lt(get(col), get(nc)),
        f32.store(i32.add(get(d), i32.shl(get(jj), i32.c(2))), loadScalar(t, i32.add(get(b), i32.add(i32.mul(get(k), get(brs)), i32.mul(get(col), get(bcs)))), L)),
        f32.store(i32.add(get(d), i32.shl(get(jj), i32.c(2))), f32.c(0)),
      ),
    )),
    set(d, i32.add(get(d), i32.c(NR * 4))),
  ));
  const panel = ifThen(
    i32.le(i32.add(get(jp), i32.c(NR)), get(nc)),
    ifThen(i32.eq(get(bcs), i32.c(eb)), vecPanel, ifThen(i32.eq(get(brs), i32.c(eb)), colVec, scalarFull)),
    scalarEdge,
  );
  const body = seq(set(d, get(dst)), forRange(jp, i32.c(0), get(nc), NR, panel));
  return { name: `packB_${t}`, params, locals: L.types, body, exported: false };
}

/** The exported driver gemm_<ta><tb> (see the file comment). */
export function gemmDriver(ta: ElemType, tb: ElemType, fn: FnIndex): FuncDef {
  const params = Array<'i32'>(14).fill('i32');
  const [a, ars, acs, b, brs, bcs, c, ldc, m0, m1, K, n0, n1, scratch] = params.map((_, i) => i);
  const L = new Locals(params);
  const [jc, pc, ic, nc, kc, mc, sa, sb, tmp] = Array.from({ length: 9 }, () => L.i32());
  const body = seq(
    set(sa, get(scratch)),
    set(sb, i32.add(get(scratch), i32.c(MC * KC * 4))),
    set(tmp, i32.add(get(sb), i32.c(KC * NC * 4))),
    forRange(jc, get(n0), get(n1), NC, seq(
      set(nc, i32.sub(get(n1), get(jc))), set(nc, i32.min(get(nc), i32.c(NC))),
      forRange(pc, i32.c(0), get(K), KC, seq(
        set(kc, i32.sub(get(K), get(pc))), set(kc, i32.min(get(kc), i32.c(KC))),
        call(fn(`packB_${tb}`), i32.add(get(b), i32.add(i32.mul(get(pc), get(brs)), i32.mul(get(jc), get(bcs)))), get(brs), get(bcs), get(kc), get(nc), get(sb)),
        forRange(ic, get(m0), get(m1), MC, seq(
          set(mc, i32.sub(get(m1), get(ic))), set(mc, i32.min(get(mc), i32.c(MC))),
          call(fn(`packA_${ta}`), i32.add(get(a), i32.add(i32.mul(get(ic), get(ars)), i32.mul(get(pc), get(acs)))), get(ars), get(acs), get(mc), get(kc), get(sa)),
          call(fn('macro'), get(sa), get(sb), get(mc), get(nc), get(kc),
            i32.add(get(c), i32.add(i32.mul(get(ic), get(ldc)), i32.shl(get(jc), i32.c(2)))), get(ldc), i32.ne(get(pc), i32.c(0)), get(tmp)),
        )),
      )),
    )),
  );
  return { name: `gemm_${ta}${tb}`, params, locals: L.types, body };
}
