/**
 * Elementwise ops, one row each: the CPU form, the WGSL expression (of `x`, or `a` and `b`), and the vector-Jacobian
 * product written with tensor ops. Generic CPU loops (./elementwise.ts) and the WGSL template consume these rows.
 */
import type { Tensor } from '../../tensor.ts';
import { erf } from './erf.ts';

export interface UnaryRow {
  cpu: (x: number, p: number, q: number) => number;
  /** WGSL expression in `x` (f32) and the op parameters `p`, `q`. */
  wgsl: string;
  /** d(out)/d(x) * g, given the input x, the output y and the parameters. */
  vjp?: (g: Tensor, x: Tensor, y: Tensor, p: number, q: number) => Tensor;
  /** Integer inputs keep their dtype (otherwise they are promoted to float32). */
  keepsInt?: boolean;
  /** Result dtype is bool. */
  boolOut?: boolean;
}

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export const UNARY = {
  neg: { cpu: (x) => -x, wgsl: '-x', vjp: (g) => g.neg(), keepsInt: true },
  abs: { cpu: Math.abs, wgsl: 'abs(x)', vjp: (g, x) => g.mul(x.sign()), keepsInt: true },
  sign: { cpu: Math.sign, wgsl: 'sign(x)', vjp: (g) => g.mul(0), keepsInt: true },
  exp: { cpu: Math.exp, wgsl: 'exp(x)', vjp: (g, _x, y) => g.mul(y) },
  log: { cpu: Math.log, wgsl: 'log(x)', vjp: (g, x) => g.div(x) },
  log1p: { cpu: Math.log1p, wgsl: 'log(1.0 + x)', vjp: (g, x) => g.div(x.add(1)) },
  expm1: { cpu: Math.expm1, wgsl: 'exp(x) - 1.0', vjp: (g, _x, y) => g.mul(y.add(1)) },
  sqrt: { cpu: Math.sqrt, wgsl: 'sqrt(x)', vjp: (g, _x, y) => g.div(y.mul(2)) },
  rsqrt: { cpu: (x) => 1 / Math.sqrt(x), wgsl: 'inverseSqrt(x)', vjp: (g, x, y) => g.mul(y).div(x).mul(-0.5) },
  reciprocal: { cpu: (x) => 1 / x, wgsl: '1.0 / x', vjp: (g, _x, y) => g.mul(y).mul(y).neg() },
  square: { cpu: (x) => x * x, wgsl: 'x * x', vjp: (g, x) => g.mul(x).mul(2), keepsInt: true },
  sin: { cpu: Math.sin, wgsl: 'sin(x)', vjp: (g, x) => g.mul(x.cos()) },
  cos: { cpu: Math.cos, wgsl: 'cos(x)', vjp: (g, x) => g.mul(x.sin()).neg() },
  tanh: { cpu: Math.tanh, wgsl: 'tanh(x)', vjp: (g, _x, y) => g.mul(y.square().neg().add(1)) },
  sigmoid: { cpu: sigmoid, wgsl: 'select(exp(x) / (1.0 + exp(x)), 1.0 / (1.0 + exp(-x)), x >= 0.0)', vjp: (g, _x, y) => g.mul(y).mul(y.neg().add(1)) },
  relu: { cpu: (x) => (x > 0 ? x : 0), wgsl: 'max(x, 0.0)', vjp: (g, x) => g.mul(x.gt(0)), keepsInt: true },
  erf: { cpu: erf, wgsl: 'erf_f32(x)', vjp: (g, x) => g.mul(x.square().neg().exp().mul(2 / Math.sqrt(Math.PI))) },
  gelu: {
    cpu: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
    wgsl: '0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476))',
    vjp: (g, x) => g.mul(x.mul(SQRT1_2).erf().add(1).mul(0.5).add(x.mul(x.square().mul(-0.5).exp()).mul(INV_SQRT_2PI))),
  },
  gelu_tanh: {
    cpu: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_PI * (x + 0.044715 * x * x * x))),
    wgsl: '0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))',
    vjp: (g, x) => {
      const t = x.add(x.pow(3).mul(0.044715)).mul(SQRT_2_PI).tanh();
      const dInner = x.square().mul(3 * 0.044715).add(1).mul(SQRT_2_PI);
      return g.mul(t.add(1).mul(0.5).add(x.mul(0.5).mul(t.square().neg().add(1)).mul(dInner)));
    },
  },
  quick_gelu: {
    cpu: (x) => x * sigmoid(1.702 * x),
    wgsl: 'x / (1.0 + exp(-1.702 * x))',
    vjp: (g, x) => {
      const s = x.mul(1.702).sigmoid();
      return g.mul(s.add(x.mul(1.702).mul(s).mul(s.neg().add(1))));
    },
  },
  silu: {
    cpu: (x) => x * sigmoid(x),
    wgsl: 'x / (1.0 + exp(-x))',
    vjp: (g, x) => {
      const s = x.sigmoid();
      return g.mul(s.add(x.mul(s).mul(s.neg().add(1))));
    },
  },
  floor: { cpu: Math.floor, wgsl: 'floor(x)', vjp: (g) => g.mul(0), keepsInt: true },
  ceil: { cpu: Math.ceil, wgsl: 'ceil(x)', vjp: (g) => g.mul(0), keepsInt: true },
  // torch.round rounds half to even.
  round: { cpu: (x) => (x - Math.floor(x) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)), wgsl: 'round(x)', vjp: (g) => g.mul(0), keepsInt: true },
  /** clamp(x, p, q): p/q are min/max (-Infinity/Infinity for none). */
  clamp: { cpu: (x, p, q) => Math.min(Math.max(x, p), q), wgsl: 'min(max(x, p), q)', vjp: (g, x, _y, p, q) => g.mul(x.ge(p).logicalAnd(x.le(q))), keepsInt: true },
  /** x ** p with a scalar exponent. */
  pow_scalar: { cpu: (x, p) => x ** p, wgsl: 'pow_any(x, p)', vjp: (g, x, _y, p) => g.mul(x.pow(p - 1).mul(p)) },
  /** p ** x with a scalar base. */
  rpow_scalar: { cpu: (x, p) => p ** x, wgsl: 'pow(p, x)', vjp: (g, _x, y, p) => g.mul(y.mul(Math.log(p))) },
  logical_not: { cpu: (x) => (x ? 0 : 1), wgsl: 'select(0.0, 1.0, x == 0.0)', boolOut: true },
  isnan: { cpu: (x) => (Number.isNaN(x) ? 1 : 0), wgsl: 'select(0.0, 1.0, x != x)', boolOut: true },
  isinf: { cpu: (x) => (x === Infinity || x === -Infinity ? 1 : 0), wgsl: 'select(0.0, 1.0, abs(x) > 3.4028234663852886e38)', boolOut: true },
  nan_to_num: { cpu: (x, p) => (Number.isNaN(x) ? p : x), wgsl: 'select(x, p, x != x)', vjp: (g, x) => g.mul(x.isnan().logicalNot()), keepsInt: true },
} satisfies Record<string, UnaryRow>;

export type UnaryName = keyof typeof UNARY;

export interface BinaryRow {
  cpu: (a: number, b: number) => number;
  wgsl: string;
  /** [dL/da, dL/db] given g = dL/dy; `need` says which the caller uses (the others may come back null unbuilt). */
  vjp?: (g: Tensor, a: Tensor, b: Tensor, y: Tensor, need: Need) => [Tensor | null, Tensor | null];
  boolOut?: boolean;
  /** Integer operands give a float result (true division). */
  floatOut?: boolean;
}

/** Which operand gradients a binary vjp's caller uses. */
export type Need = readonly [boolean, boolean];

export const BINARY = {
  add: { cpu: (a, b) => a + b, wgsl: 'a + b', vjp: (g) => [g, g] },
  sub: { cpu: (a, b) => a - b, wgsl: 'a - b', vjp: (g, _a, _b, _y, need) => [g, need[1] ? g.neg() : null] },
  mul: { cpu: (a, b) => a * b, wgsl: 'a * b', vjp: (g, a, b, _y, need) => [need[0] ? g.mul(b) : null, need[1] ? g.mul(a) : null] },
  div: {
    cpu: (a, b) => a / b,
    wgsl: 'a / b',
    vjp: (g, a, b, _y, need) => [need[0] ? g.div(b) : null, need[1] ? g.mul(a).div(b.square()).neg() : null],
    floatOut: true,
  },
  pow: {
    cpu: (a, b) => a ** b,
    wgsl: 'pow_any(a, b)',
    vjp: (g, a, b, y) => [g.mul(b).mul(a.pow(b.sub(1))), g.mul(y).mul(a.log().nanToNum(0))],
  },
  maximum: { cpu: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)), wgsl: 'max(a, b)', vjp: (g, a, b) => splitTie(g, a.gt(b), a.eq(b)) },
  minimum: { cpu: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)), wgsl: 'min(a, b)', vjp: (g, a, b) => splitTie(g, a.lt(b), a.eq(b)) },
  atan2: {
    cpu: Math.atan2,
    wgsl: 'atan2(a, b)',
    vjp: (g, a, b) => {
      const d = a.square().add(b.square());
      return [g.mul(b).div(d), g.mul(a).neg().div(d)];
    },
    floatOut: true,
  },
  // Python/torch remainder: the sign of the divisor.
  remainder: { cpu: (a, b) => a - Math.floor(a / b) * b, wgsl: 'a - floor(a / b) * b', vjp: (g, a, b) => [g, g.mul(a.div(b).floor()).neg()] },
  floor_divide: { cpu: (a, b) => Math.floor(a / b), wgsl: 'floor(a / b)' },
  eq: { cpu: (a, b) => +(a === b), wgsl: 'select(0.0, 1.0, a == b)', boolOut: true },
  ne: { cpu: (a, b) => +(a !== b), wgsl: 'select(0.0, 1.0, a != b)', boolOut: true },
  lt: { cpu: (a, b) => +(a < b), wgsl: 'select(0.0, 1.0, a < b)', boolOut: true },
  le: { cpu: (a, b) => +(a <= b), wgsl: 'select(0.0, 1.0, a <= b)', boolOut: true },
  gt: { cpu: (a, b) => +(a > b), wgsl: 'select(0.0, 1.0, a > b)', boolOut: true },
  ge: { cpu: (a, b) => +(a >= b), wgsl: 'select(0.0, 1.0, a >= b)', boolOut: true },
  logical_and: { cpu: (a, b) => +(a !== 0 && b !== 0), wgsl: 'select(0.0, 1.0, a != 0.0 && b != 0.0)', boolOut: true },
  logical_or: { cpu: (a, b) => +(a !== 0 || b !== 0), wgsl: 'select(0.0, 1.0, a != 0.0 || b != 0.0)', boolOut: true },
  logical_xor: { cpu: (a, b) => +((a !== 0) !== (b !== 0)), wgsl: 'select(0.0, 1.0, (a != 0.0) != (b != 0.0))', boolOut: true },
} satisfies Record<string, BinaryRow>;

export type BinaryName = keyof typeof BINARY;

/** max/min gradient: all to the winner, split evenly on ties (torch's rule). */
function splitTie(g: Tensor, wins: Tensor, tie: Tensor): [Tensor, Tensor] {
  const wa = wins.toFloat().add(tie.toFloat().mul(0.5));
  return [g.mul(wa), g.mul(wa.neg().add(1))];
}
