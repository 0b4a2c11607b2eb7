/**
 * The instruction DSL: every helper returns the bytes of a WebAssembly expression or statement (stack code), and
 * helpers nest like expressions, e.g. `f32x4.add(get(acc), f32x4.mul(get(a), v128load(get(p), 16)))`.
 * Addresses are byte offsets into the one imported memory; `off` is the constant memarg offset.
 */
import { sleb, uleb } from './module.ts';

export type Code = number[];

const cat = (...parts: Code[]): Code => parts.flat();
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const memarg = (align: number, off: number): Code => [align, ...uleb(off)];

export const get = (l: number): Code => [0x20, ...uleb(l)];
export const set = (l: number, v: Code): Code => cat(v, [0x21, ...uleb(l)]);
export const tee = (l: number, v: Code): Code => cat(v, [0x22, ...uleb(l)]);
export const seq = (...s: Code[]): Code => cat(...s);
export const drop = (v: Code): Code => cat(v, [0x1a]);
export const call = (fn: number, ...args: Code[]): Code => cat(...args, [0x10, ...uleb(fn)]);
export const ret = (v: Code = []): Code => cat(v, [0x0f]);
export const select = (a: Code, b: Code, cond: Code): Code => cat(a, b, cond, [0x1b]);

const bin = (op: number) => (a: Code, b: Code): Code => cat(a, b, [op]);
const un = (op: number) => (a: Code): Code => cat(a, [op]);

export const i32 = {
  c: (v: number): Code => [0x41, ...sleb(v)],
  eqz: un(0x45), eq: bin(0x46), ne: bin(0x47), lt: bin(0x48), ltU: bin(0x49), gt: bin(0x4a), gtU: bin(0x4b), le: bin(0x4c), ge: bin(0x4e), geU: bin(0x4f),
  add: bin(0x6a), sub: bin(0x6b), mul: bin(0x6c), divS: bin(0x6d), divU: bin(0x6e), remU: bin(0x70),
  and: bin(0x71), or: bin(0x72), xor: bin(0x73), shl: bin(0x74), shrS: bin(0x75), shrU: bin(0x76),
  load: (addr: Code, off = 0): Code => cat(addr, [0x28], memarg(2, off)),
  load16U: (addr: Code, off = 0): Code => cat(addr, [0x2f], memarg(1, off)),
  load8U: (addr: Code, off = 0): Code => cat(addr, [0x2d], memarg(0, off)),
  store: (addr: Code, v: Code, off = 0): Code => cat(addr, v, [0x36], memarg(2, off)),
  store16: (addr: Code, v: Code, off = 0): Code => cat(addr, v, [0x3b], memarg(1, off)),
  min: (a: Code, b: Code): Code => select(a, b, i32.lt(a, b)),
  reinterpretF32: un(0xbc),
  truncF32S: un(0xa8),
};

export const f32 = {
  c: (v: number): Code => {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return [0x43, ...b];
  },
  eq: bin(0x5b), ne: bin(0x5c), lt: bin(0x5d), gt: bin(0x5e), le: bin(0x5f), ge: bin(0x60),
  abs: un(0x8b), neg: un(0x8c), sqrt: un(0x91), floor: un(0x8e),
  add: bin(0x92), sub: bin(0x93), mul: bin(0x94), div: bin(0x95), min: bin(0x96), max: bin(0x97),
  load: (addr: Code, off = 0): Code => cat(addr, [0x2a], memarg(2, off)),
  store: (addr: Code, v: Code, off = 0): Code => cat(addr, v, [0x38], memarg(2, off)),
  fromI32: un(0xb2),
  reinterpretI32: un(0xbe),
};

export const v128 = {
  /** A constant of four i32 lanes (or one value in all four). */
  i32x4: (...lanes: number[]): Code => {
    const l = lanes.length === 1 ? [lanes[0], lanes[0], lanes[0], lanes[0]] : lanes;
    return cat(simd(12), [...new Uint8Array(new Int32Array(l).buffer)]);
  },
  /** A constant of four f32 lanes (or one value in all four). */
  f32x4: (...lanes: number[]): Code => {
    const l = lanes.length === 1 ? [lanes[0], lanes[0], lanes[0], lanes[0]] : lanes;
    return cat(simd(12), [...new Uint8Array(new Float32Array(l).buffer)]);
  },
  load: (addr: Code, off = 0): Code => cat(addr, simd(0), memarg(4, off)),
  /** Loads 4 u16 and zero-extends them to i32x4. */
  load16x4U: (addr: Code, off = 0): Code => cat(addr, simd(4), memarg(3, off)),
  /** Loads 4 i16 and sign-extends them to i32x4. */
  load16x4S: (addr: Code, off = 0): Code => cat(addr, simd(3), memarg(3, off)),
  load32Splat: (addr: Code, off = 0): Code => cat(addr, simd(9), memarg(2, off)),
  store: (addr: Code, v: Code, off = 0): Code => cat(addr, v, simd(11), memarg(4, off)),
  and: (a: Code, b: Code): Code => cat(a, b, simd(0x4e)),
  or: (a: Code, b: Code): Code => cat(a, b, simd(0x50)),
  /** a & ~b */
  andnot: (a: Code, b: Code): Code => cat(a, b, simd(0x4f)),
  bitselect: (a: Code, b: Code, mask: Code): Code => cat(a, b, mask, simd(0x52)),
  /** Four 32-bit lanes picked from a (0-3) and b (4-7): i8x16.shuffle. */
  shuffle32: (a: Code, b: Code, lanes: [number, number, number, number]): Code =>
    cat(a, b, simd(0x0d), lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])),
  /** i32 1 when any bit is set. */
  anyTrue: (a: Code): Code => cat(a, simd(0x53)),
};

export const i16x8 = {
  /** Eight lanes of one i16 constant. */
  c: (v: number): Code => cat(simd(12), [...new Uint8Array(new Uint16Array(8).fill(v & 0xffff).buffer)]),
  eq: (a: Code, b: Code): Code => cat(a, b, simd(0x2d)),
};

export const i32x4 = {
  splat: (a: Code): Code => cat(a, simd(0x11)),
  shl: (a: Code, n: Code): Code => cat(a, n, simd(0xab)),
  shrU: (a: Code, n: Code): Code => cat(a, n, simd(0xad)),
  shrS: (a: Code, n: Code): Code => cat(a, n, simd(0xac)),
  add: (a: Code, b: Code): Code => cat(a, b, simd(0xae)),
  sub: (a: Code, b: Code): Code => cat(a, b, simd(0xb1)),
  gtU: (a: Code, b: Code): Code => cat(a, b, simd(0x3c)),
  truncSatF32S: (a: Code): Code => cat(a, simd(0xf8)),
};

export const f32x4 = {
  splat: (a: Code): Code => cat(a, simd(0x13)),
  lane: (a: Code, l: number): Code => cat(a, simd(0x1f), [l]),
  add: (a: Code, b: Code): Code => cat(a, b, simd(0xe4)),
  sub: (a: Code, b: Code): Code => cat(a, b, simd(0xe5)),
  mul: (a: Code, b: Code): Code => cat(a, b, simd(0xe6)),
  div: (a: Code, b: Code): Code => cat(a, b, simd(0xe7)),
  min: (a: Code, b: Code): Code => cat(a, b, simd(0xe8)),
  max: (a: Code, b: Code): Code => cat(a, b, simd(0xe9)),
  /** b > a ? b : a (no NaN propagation from a). */
  pmax: (a: Code, b: Code): Code => cat(a, b, simd(0xeb)),
  /** b < a ? b : a (one minps; a NaN in a is kept, one in b is not). */
  pmin: (a: Code, b: Code): Code => cat(a, b, simd(0xea)),
  abs: (a: Code): Code => cat(a, simd(0xe0)),
  neg: (a: Code): Code => cat(a, simd(0xe1)),
  sqrt: (a: Code): Code => cat(a, simd(0xe3)),
  nearest: (a: Code): Code => cat(a, simd(0x6a)),
  ne: (a: Code, b: Code): Code => cat(a, b, simd(0x42)),
  lt: (a: Code, b: Code): Code => cat(a, b, simd(0x43)),
  gt: (a: Code, b: Code): Code => cat(a, b, simd(0x44)),
  fromI32: (a: Code): Code => cat(a, simd(0xfa)),
  /** a * b + c: relaxed fused multiply-add where `fma` is set (validated at startup), else mul then add. */
  madd: (a: Code, b: Code, c: Code, fma: boolean): Code => (fma ? cat(a, b, c, simd(0x105)) : f32x4.add(f32x4.mul(a, b), c)),
  /** Horizontal sum of the four lanes. */
  hsum: (a: Code, tmp: number): Code =>
    cat(set(tmp, a), f32.add(f32.add(f32x4.lane(get(tmp), 0), f32x4.lane(get(tmp), 1)), f32.add(f32x4.lane(get(tmp), 2), f32x4.lane(get(tmp), 3)))),
};

/** if (cond) { then } else { otherwise } (statements, no value). */
export function ifThen(cond: Code, then: Code, otherwise?: Code): Code {
  return cat(cond, [0x04, 0x40], then, otherwise ? cat([0x05], otherwise) : [], [0x0b]);
}

/**
 * for (i = lo; i < hi; i += step) body — `hi` is re-evaluated each iteration, so pass a local or a constant.
 * The body may not branch out of the loop (no break/continue helpers are needed by the kernels).
 */
export function forRange(i: number, lo: Code, hi: Code, step: number, body: Code): Code {
  return cat(
    set(i, lo),
    [0x02, 0x40, 0x03, 0x40],
    i32.ge(get(i), hi), [0x0d, 0x01],
    body,
    set(i, i32.add(get(i), i32.c(step))),
    [0x0c, 0x00, 0x0b, 0x0b],
  );
}
