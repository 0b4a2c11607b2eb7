/**
 * Elementwise and row kernels on dense f32 (pointers in bytes, counts in elements):
 * - `bin_<op>(a, b, y, n, mode)`: y = a op b; mode 0: b dense, 1: b one scalar, 2: a one scalar.
 * - `un_<op>(x, y, n)`: y = f(x) for relu, neg, abs, sqrt, square, exp, sigmoid, silu.
 * - `norm_rows(x, y, rstd, R, N, eps, rms)` / `norm_rows_bwd(g, y, rstd, dx, R, N, rms)`: the norm_rows kernels
 *   (see ops/norm/norm.ts) with f32 sums in four lanes.
 * - `softmax_rows(x, y, R, N)`: y = softmax of each row (max subtracted; rows whose max is -Infinity give NaN, as the
 *   reference does).
 * exp is Cephes' expf on four lanes (range reduction by ln 2 in two parts, degree-6 polynomial, 2^n built in the
 * exponent bits): within 2 ulp of Math.exp over the f32 range; inputs below -87.3 give 0, above 88.7 give Infinity.
 */
import { f32, f32x4, forRange, get, i32, i32x4, ifThen, seq, set, v128, type Code } from '../emit/code.ts';
import { Locals, type FuncDef, type ValType } from '../emit/module.ts';
import type { BinaryName, UnaryName } from '../../../ops/elementwise/table.ts';

type V = (x: Code) => Code;

/**
 * v128 constants kept in locals that the function sets once on entry (`init`): V8 rematerialises each v128.const
 * where it is used, several instructions per use inside the loops.
 */
class Consts {
  readonly #L: Locals;
  readonly #locals = new Map<string, number>();
  readonly #init: Code[] = [];
  constructor(L: Locals) {
    this.#L = L;
  }
  f32(v: number): Code {
    return this.#get(`f${v}`, () => v128.f32x4(v));
  }
  i32(v: number): Code {
    return this.#get(`i${v}`, () => v128.i32x4(v));
  }
  #get(key: string, make: () => Code): Code {
    let l = this.#locals.get(key);
    if (l === undefined) {
      l = this.#L.v128();
      this.#locals.set(key, l);
      this.#init.push(set(l, make()));
    }
    return get(l);
  }
  get init(): Code {
    return seq(...this.#init);
  }
}

/** exp on four lanes; `t` are three scratch v128 locals; constants from `K` (inline v128.const without). */
function exp4(x: Code, t: [number, number, number], K?: Consts): Code {
  const [xv, n, p] = t;
  const c = (v: number): Code => (K ? K.f32(v) : v128.f32x4(v));
  const ci = (v: number): Code => (K ? K.i32(v) : v128.i32x4(v));
  const poly = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  let acc = c(poly[0]);
  for (const k of poly.slice(1)) acc = f32x4.add(f32x4.mul(acc, get(p)), c(k));
  return seq(
    set(xv, x),
    // Clamp with pmax/pmin (one instruction each; f32x4.max/min cost several on x64): a NaN x stays NaN.
    set(p, f32x4.pmin(f32x4.pmax(get(xv), c(-87.3)), c(88.7))),
    // n = round(x / ln 2) on the clamped input; r = x - n ln2 (two parts) goes to p.
    set(n, f32x4.nearest(f32x4.mul(get(p), c(Math.LOG2E)))),
    set(p, f32x4.sub(f32x4.sub(get(p), f32x4.mul(get(n), c(0.693359375))), f32x4.mul(get(n), c(-2.12194440e-4)))),
    // y = (poly(r) r^2 + r + 1) * 2^n  (2^n in two halves so n = 128 does not overflow the exponent field)
    set(p, f32x4.add(f32x4.add(f32x4.mul(acc, f32x4.mul(get(p), get(p))), get(p)), c(1))),
    // n to i32 (an integer within +-128): add 1.5 * 2^23 and subtract the bit patterns (cheaper than trunc_sat).
    set(n, i32x4.sub(f32x4.add(get(n), c(12582912)), ci(0x4b400000))),
    set(p, f32x4.mul(f32x4.mul(get(p), i32x4.shl(i32x4.add(i32x4.shrS(get(n), i32.c(1)), ci(127)), i32.c(23))),
      i32x4.shl(i32x4.add(i32x4.sub(get(n), i32x4.shrS(get(n), i32.c(1))), ci(127)), i32.c(23)))),
    // below the range: 0; above: Infinity; NaN stays NaN (comparisons are false for NaN).
    v128.bitselect(c(Infinity), v128.andnot(get(p), f32x4.lt(get(xv), c(-87.3))), f32x4.gt(get(xv), c(88.7))),
  );
}

const BIN = {
  add: f32x4.add, sub: f32x4.sub, mul: f32x4.mul, div: f32x4.div, maximum: f32x4.max, minimum: f32x4.min,
} satisfies Partial<Record<BinaryName, (a: Code, b: Code) => Code>>;

function binary(op: keyof typeof BIN): FuncDef {
  const params = Array<'i32'>(5).fill('i32');
  const [a, b, y, n, mode] = [0, 1, 2, 3, 4];
  const L = new Locals(params);
  const [i, n4, off] = [L.i32(), L.i32(), L.i32()];
  const f = BIN[op];
  const at = (p: number): Code => i32.add(get(p), get(off));
  const loop = (va: Code, vb: Code, sa: Code, sb: Code): Code => seq(
    forRange(i, i32.c(0), get(n4), 4, seq(set(off, i32.shl(get(i), i32.c(2))), v128.store(at(y), f(va, vb)))),
    forRange(i, get(n4), get(n), 1, seq(set(off, i32.shl(get(i), i32.c(2))), f32.store(at(y), f32x4.lane(f(f32x4.splat(sa), f32x4.splat(sb)), 0)))),
  );
  const body = seq(
    set(n4, i32.and(get(n), i32.c(~3))),
    ifThen(i32.eq(get(mode), i32.c(0)), loop(v128.load(at(a)), v128.load(at(b)), f32.load(at(a)), f32.load(at(b))),
      ifThen(i32.eq(get(mode), i32.c(1)), loop(v128.load(at(a)), v128.load32Splat(get(b)), f32.load(at(a)), f32.load(get(b))),
        loop(v128.load32Splat(get(a)), v128.load(at(b)), f32.load(get(a)), f32.load(at(b))))),
  );
  return { name: `bin_${op}`, params, locals: L.types, body };
}

function unary(op: string, L: Locals): V {
  const c = (v: number): Code => v128.f32x4(v);
  const t: [number, number, number] = [L.v128(), L.v128(), L.v128()];
  const u = L.v128();
  switch (op) {
    case 'relu': return (x) => f32x4.pmax(c(0), x); // 0 < x ? x : 0 (NaN and -0 give 0, as the reference)
    case 'neg': return (x) => f32x4.neg(x);
    case 'abs': return (x) => f32x4.abs(x);
    case 'sqrt': return (x) => f32x4.sqrt(x);
    case 'square': return (x) => seq(set(u, x), f32x4.mul(get(u), get(u)));
    case 'exp': return (x) => exp4(x, t);
    case 'sigmoid': return (x) => f32x4.div(c(1), f32x4.add(c(1), exp4(f32x4.neg(x), t)));
    case 'silu': return (x) => seq(set(u, x), f32x4.div(get(u), f32x4.add(c(1), exp4(f32x4.neg(get(u)), t))));
    default: throw new Error(`no SIMD unary ${op}`);
  }
}

/** The elementwise rows with a SIMD form (names of the elementwise table, so `unary:${op}` is a kernel name). */
export const UNARY_OPS: readonly UnaryName[] = ['relu', 'neg', 'abs', 'sqrt', 'square', 'exp', 'sigmoid', 'silu'];
export const BINARY_OPS = Object.keys(BIN) as (keyof typeof BIN)[];

function unaryFn(op: string): FuncDef {
  const params = Array<'i32'>(3).fill('i32');
  const [x, y, n] = [0, 1, 2];
  const L = new Locals(params);
  const [i, n4, off, tail] = [L.i32(), L.i32(), L.i32(), L.v128()];
  const f = unary(op, L);
  const body = seq(
    set(n4, i32.and(get(n), i32.c(~3))),
    forRange(i, i32.c(0), get(n4), 4, seq(set(off, i32.shl(get(i), i32.c(2))), v128.store(i32.add(get(y), get(off)), f(v128.load(i32.add(get(x), get(off))))))),
    forRange(i, get(n4), get(n), 1, seq(
      set(off, i32.shl(get(i), i32.c(2))),
      set(tail, f(f32x4.splat(f32.load(i32.add(get(x), get(off)))))),
      f32.store(i32.add(get(y), get(off)), f32x4.lane(get(tail), 0)),
    )),
  );
  return { name: `un_${op}`, params, locals: L.types, body };
}

/** Sum of f(x[i]) over a dense row of n f32 at p (four lanes, then a scalar tail). */
function rowSum(L: Locals, p: Code, n: number, f: (v: Code, s: boolean) => Code, out: number): Code {
  const [i, acc, tmp] = [L.i32(), L.v128(), L.v128()];
  const n4 = L.i32();
  return seq(
    set(n4, i32.and(get(n), i32.c(~3))),
    set(acc, f32x4.splat(f32.c(0))),
    forRange(i, i32.c(0), get(n4), 4, set(acc, f32x4.add(get(acc), f(v128.load(i32.add(p, i32.shl(get(i), i32.c(2)))), true)))),
    set(out, f32x4.hsum(get(acc), tmp)),
    forRange(i, get(n4), get(n), 1, set(out, f32.add(get(out), f32x4.lane(f(f32x4.splat(f32.load(i32.add(p, i32.shl(get(i), i32.c(2))))), false), 0)))),
  );
}

/** y[i] = f(x[i]) over a dense row (four lanes, then a scalar tail through lane 0). */
function rowMap(L: Locals, n: number, f: (off: Code, vec: boolean) => Code, store: (off: Code, v: Code, vec: boolean) => Code): Code {
  const [i, n4] = [L.i32(), L.i32()];
  const tmp = L.v128();
  return seq(
    set(n4, i32.and(get(n), i32.c(~3))),
    forRange(i, i32.c(0), get(n4), 4, store(i32.shl(get(i), i32.c(2)), f(i32.shl(get(i), i32.c(2)), true), true)),
    forRange(i, get(n4), get(n), 1, seq(set(tmp, f(i32.shl(get(i), i32.c(2)), false)), store(i32.shl(get(i), i32.c(2)), f32x4.lane(get(tmp), 0), false))),
  );
}

function normRows(): FuncDef {
  const params: ValType[] = ['i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'i32'];
  const [x, y, rstd, R, N, eps, rms] = [0, 1, 2, 3, 4, 5, 6];
  const L = new Locals(params);
  const [r, px, py, mean, ss, inv, mv, iv] = [L.i32(), L.i32(), L.i32(), L.f32(), L.f32(), L.f32(), L.v128(), L.v128()];
  const ld = (off: Code, vec: boolean): Code => (vec ? v128.load(i32.add(get(px), off)) : f32x4.splat(f32.load(i32.add(get(px), off))));
  const body = forRange(r, i32.c(0), get(R), 1, seq(
    set(px, i32.add(get(x), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    set(py, i32.add(get(y), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    set(mean, f32.c(0)),
    ifThen(i32.eqz(get(rms)), seq(rowSum(L, get(px), N, (v) => v, mean), set(mean, f32.div(get(mean), f32.fromI32(get(N)))))),
    set(mv, f32x4.splat(get(mean))),
    rowSum(L, get(px), N, (v) => seq(set(iv, f32x4.sub(v, get(mv))), f32x4.mul(get(iv), get(iv))), ss),
    set(inv, f32.div(f32.c(1), f32.sqrt(f32.add(f32.div(get(ss), f32.fromI32(get(N))), get(eps))))),
    f32.store(i32.add(get(rstd), i32.shl(get(r), i32.c(2))), get(inv)),
    set(iv, f32x4.splat(get(inv))),
    rowMap(L, N, (off, vec) => f32x4.mul(f32x4.sub(ld(off, vec), get(mv)), get(iv)),
      (off, v, vec) => (vec ? v128.store(i32.add(get(py), off), v) : f32.store(i32.add(get(py), off), v))),
  ));
  return { name: 'norm_rows', params, locals: L.types, body };
}

function normRowsBwd(): FuncDef {
  const params = Array<'i32'>(7).fill('i32');
  const [g, y, rstd, dx, R, N, rms] = [0, 1, 2, 3, 4, 5, 6];
  const L = new Locals(params);
  const [r, pg, py, pd, mg, mgy, inv] = [L.i32(), L.i32(), L.i32(), L.i32(), L.f32(), L.f32(), L.f32()];
  const [vmg, vmgy, vinv] = [L.v128(), L.v128(), L.v128()];
  const ldg = (off: Code, vec: boolean): Code => (vec ? v128.load(i32.add(get(pg), off)) : f32x4.splat(f32.load(i32.add(get(pg), off))));
  const ldy = (off: Code, vec: boolean): Code => (vec ? v128.load(i32.add(get(py), off)) : f32x4.splat(f32.load(i32.add(get(py), off))));
  const [i, n4, acc1, acc2, tmp] = [L.i32(), L.i32(), L.v128(), L.v128(), L.v128()];
  const sums = seq(
    set(n4, i32.and(get(N), i32.c(~3))),
    set(acc1, f32x4.splat(f32.c(0))), set(acc2, f32x4.splat(f32.c(0))),
    forRange(i, i32.c(0), get(n4), 4, seq(
      set(tmp, ldg(i32.shl(get(i), i32.c(2)), true)),
      set(acc1, f32x4.add(get(acc1), get(tmp))),
      set(acc2, f32x4.add(get(acc2), f32x4.mul(get(tmp), ldy(i32.shl(get(i), i32.c(2)), true)))),
    )),
    set(mg, f32x4.hsum(get(acc1), tmp)), set(mgy, f32x4.hsum(get(acc2), tmp)),
    forRange(i, get(n4), get(N), 1, seq(
      set(mg, f32.add(get(mg), f32.load(i32.add(get(pg), i32.shl(get(i), i32.c(2)))))),
      set(mgy, f32.add(get(mgy), f32.mul(f32.load(i32.add(get(pg), i32.shl(get(i), i32.c(2)))), f32.load(i32.add(get(py), i32.shl(get(i), i32.c(2))))))),
    )),
  );
  const body = forRange(r, i32.c(0), get(R), 1, seq(
    set(pg, i32.add(get(g), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    set(py, i32.add(get(y), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    set(pd, i32.add(get(dx), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    sums,
    set(mg, f32.div(get(mg), f32.fromI32(get(N)))),
    ifThen(get(rms), set(mg, f32.c(0))),
    set(mgy, f32.div(get(mgy), f32.fromI32(get(N)))),
    set(inv, f32.load(i32.add(get(rstd), i32.shl(get(r), i32.c(2))))),
    set(vmg, f32x4.splat(get(mg))), set(vmgy, f32x4.splat(get(mgy))), set(vinv, f32x4.splat(get(inv))),
    rowMap(L, N, (off, vec) => f32x4.mul(get(vinv), f32x4.sub(f32x4.sub(ldg(off, vec), get(vmg)), f32x4.mul(ldy(off, vec), get(vmgy)))),
      (off, v, vec) => (vec ? v128.store(i32.add(get(pd), off), v) : f32.store(i32.add(get(pd), off), v))),
  ));
  return { name: 'norm_rows_bwd', params, locals: L.types, body };
}

function softmaxRows(): FuncDef {
  const params = Array<'i32'>(4).fill('i32');
  const [x, y, R, N] = [0, 1, 2, 3];
  const L = new Locals(params);
  const [r, px, py, mx, s, mv, sv] = [L.i32(), L.i32(), L.i32(), L.f32(), L.f32(), L.v128(), L.v128()];
  const t: [number, number, number] = [L.v128(), L.v128(), L.v128()];
  const [i, n4, acc, tmp] = [L.i32(), L.i32(), L.v128(), L.v128()];
  const K = new Consts(L);
  const [ld, nan] = [L.v128(), L.v128()];
  const at = (p: number): Code => i32.add(get(p), i32.shl(get(i), i32.c(2)));
  const rows = forRange(r, i32.c(0), get(R), 1, seq(
    set(px, i32.add(get(x), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    set(py, i32.add(get(y), i32.shl(i32.mul(get(r), get(N)), i32.c(2)))),
    set(n4, i32.and(get(N), i32.c(~3))),
    // max: pmax (one instruction; f32x4.max costs several on x64) with the NaN lanes tracked apart, so a NaN in the
    // row still makes the max NaN (and the row NaN), as the reference.
    set(acc, f32x4.splat(f32.c(-Infinity))),
    set(nan, v128.i32x4(0)),
    forRange(i, i32.c(0), get(n4), 4, seq(
      set(ld, v128.load(at(px))),
      set(acc, f32x4.pmax(get(acc), get(ld))),
      set(nan, v128.or(get(nan), f32x4.ne(get(ld), get(ld)))),
    )),
    set(tmp, get(acc)),
    set(mx, f32.max(f32.max(f32x4.lane(get(tmp), 0), f32x4.lane(get(tmp), 1)), f32.max(f32x4.lane(get(tmp), 2), f32x4.lane(get(tmp), 3)))),
    ifThen(v128.anyTrue(get(nan)), set(mx, f32.c(Number.NaN))),
    forRange(i, get(n4), get(N), 1, set(mx, f32.max(get(mx), f32.load(at(px))))),
    set(mv, f32x4.splat(get(mx))),
    // y = exp(x - max), s = sum y
    set(acc, f32x4.splat(f32.c(0))),
    forRange(i, i32.c(0), get(n4), 4, seq(set(sv, exp4(f32x4.sub(v128.load(at(px)), get(mv)), t, K)), v128.store(at(py), get(sv)), set(acc, f32x4.add(get(acc), get(sv))))),
    set(s, f32x4.hsum(get(acc), tmp)),
    forRange(i, get(n4), get(N), 1, seq(
      set(sv, exp4(f32x4.splat(f32.sub(f32.load(at(px)), get(mx))), t)),
      f32.store(at(py), f32x4.lane(get(sv), 0)),
      set(s, f32.add(get(s), f32x4.lane(get(sv), 0))),
    )),
    set(sv, f32x4.splat(f32.div(f32.c(1), get(s)))),
    forRange(i, i32.c(0), get(n4), 4, v128.store(at(py), f32x4.mul(v128.load(at(py)), get(sv)))),
    forRange(i, get(n4), get(N), 1, f32.store(at(py), f32.mul(f32.load(at(py)), f32x4.lane(get(sv), 0)))),
  ));
  const body = seq(K.init, rows);
  return { name: 'softmax_rows', params, locals: L.types, body };
}

export function rowKernels(): (() => FuncDef)[] {
  return [
    ...BINARY_OPS.map((op) => () => binary(op)),
    ...UNARY_OPS.map((op) => () => unaryFn(op)),
    normRows, normRowsBwd, softmaxRows,
  ];
}
