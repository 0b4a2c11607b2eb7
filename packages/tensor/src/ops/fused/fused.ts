/**
 * Fused elementwise chains. `fuse((a, b) => a.silu().mul(b))` traces the function once over symbolic operands and
 * returns a function of tensors that runs the whole chain as ONE kernel, with broadcasting, instead of one kernel and
 * one intermediate tensor per op: every input is read once and one output is written. Any row of the elementwise
 * table (./elementwise/table.ts) with a float result may appear, with number constants.
 *
 * Numerics: the chain computes in f32 on every backend (the CPU rounds each step with Math.fround), so on float32
 * inputs the CPU result equals the unfused ops bit for bit; float16/bfloat16 inputs are widened once and only the
 * final result is rounded to the storage dtype (more accurate than the unfused chain, which rounds every step).
 * Gradients: the backward recomputes the chain op by op and runs the table's vjp rows in reverse, then reduces
 * each input's gradient to its shape.
 *
 * Kernel `fused`: inputs = n views broadcast to the output's shape (float dtypes); outputs = [y];
 * attrs.program = FusedStep[] (see below), evaluated in order; the last step is the result.
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { forEachOffset } from '../../backends/cpu/iter.ts';
import { isFloat, type DType } from '../../dtype.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { broadcastShapes } from '../../shape.ts';
import { full, type Tensor } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { cast } from '../copy/copy.ts';
import { expand } from '../movement/views.ts';
import { sumTo } from '../reduce/reduce.ts';
import { binary, promote, unary } from '../elementwise/elementwise.ts';
import { BINARY, UNARY, type BinaryName, type BinaryRow, type UnaryName, type UnaryRow } from '../elementwise/table.ts';

/** An operand of a step: input `j`, the result of an earlier step, or a number constant. */
export type FusedRef = { input: number } | { step: number } | { value: number };

/** One op of a chain: a unary row with its parameters, or a binary row. */
export type FusedStep = { unary: UnaryName; x: FusedRef; p: number; q: number } | { binary: BinaryName; a: FusedRef; b: FusedRef };

export class FusedChainError extends Error {
  override name = 'FusedChainError';
}

type Camel<S extends string> = S extends `${infer H}_${infer R}` ? `${H}${Capitalize<Camel<R>>}` : S;
const camel = (s: string) => s.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase());

/** Float-valued rows only: comparisons and predicates (bool results) cannot sit inside a float chain. */
type FloatUnary = { [K in UnaryName]: (typeof UNARY)[K] extends { boolOut: true } ? never : K }[UnaryName];
type FloatBinary = { [K in BinaryName]: (typeof BINARY)[K] extends { boolOut: true } ? never : K }[BinaryName];

/** A symbolic operand while tracing: one method per float row of the table (camelCase names, like Tensor's). */
export type Sym = SymBase & { [K in FloatUnary as Camel<K>]: (p?: number, q?: number) => Sym } & {
  [K in FloatBinary as Camel<K>]: (other: Sym | number) => Sym;
};

class SymBase {
  constructor(readonly trace: FusedStep[], readonly ref: FusedRef) {}
}

const refOf = (trace: FusedStep[], o: Sym | number): FusedRef => {
  if (typeof o === 'number') return { value: o };
  if (o.trace !== trace) throw new FusedChainError('fuse: an operand comes from another traced chain; build each chain inside one fuse() callback');
  return o.ref;
};

for (const [name, row] of Object.entries(UNARY) as [UnaryName, UnaryRow][]) {
  if (row.boolOut) continue;
  Object.defineProperty(SymBase.prototype, camel(name), {
    value(this: SymBase, p = 0, q = 0) {
      this.trace.push({ unary: name, x: this.ref, p, q });
      return new SymBase(this.trace, { step: this.trace.length - 1 });
    },
  });
}
for (const [name, row] of Object.entries(BINARY) as [BinaryName, BinaryRow][]) {
  if (row.boolOut) continue;
  Object.defineProperty(SymBase.prototype, camel(name), {
    value(this: SymBase, other: Sym | number) {
      this.trace.push({ binary: name, a: this.ref, b: refOf(this.trace, other) });
      return new SymBase(this.trace, { step: this.trace.length - 1 });
    },
  });
}

/** Traces `fn` over `arity` symbolic inputs (default: fn.length) into a program. */
export function traceChain(fn: (...xs: Sym[]) => Sym, arity = fn.length): FusedStep[] {
  const trace: FusedStep[] = [];
  const xs = Array.from({ length: arity }, (_, j) => new SymBase(trace, { input: j }) as Sym);
  const out = fn(...xs);
  if (!(out instanceof SymBase) || out.trace !== trace) throw new FusedChainError('fuse: the callback must return a value computed from its operands');
  if (!('step' in out.ref) || out.ref.step !== trace.length - 1) {
    // The result is an input or an earlier step: append an identity so the last step is the result.
    trace.push({ binary: 'add', a: out.ref, b: { value: 0 } });
  }
  return trace;
}

/**
 * Compiles `fn` (traced once) into a function that runs the chain as one kernel:
 * `const swiglu = fuse((g, u) => g.silu().mul(u)); const h = swiglu(gate, up);`
 */
export function fuse(fn: (...xs: Sym[]) => Sym): (...inputs: Tensor[]) => Tensor {
  const program = traceChain(fn);
  const arity = fn.length;
  return (...inputs: Tensor[]) => {
    if (inputs.length !== arity) throw new FusedChainError(`fuse: the chain takes ${arity} tensors, got ${inputs.length}`);
    return fused(program, inputs);
  };
}

function checkProgram(program: FusedStep[], n: number): void {
  if (program.length === 0) throw new FusedChainError('fused: the program is empty');
  const ok = (r: FusedRef, i: number) => ('input' in r ? r.input >= 0 && r.input < n : 'step' in r ? r.step >= 0 && r.step < i : Number.isFinite(r.value) || Number.isNaN(r.value) || Math.abs(r.value) === Infinity);
  program.forEach((s, i) => {
    const refs = 'unary' in s ? [s.x] : [s.a, s.b];
    const row: UnaryRow | BinaryRow | undefined = 'unary' in s ? UNARY[s.unary] : BINARY[s.binary];
    if (!row) throw new FusedChainError(`fused: step ${i} names no elementwise op`);
    if (row.boolOut) throw new FusedChainError(`fused: step ${i} ('${'unary' in s ? s.unary : s.binary}') gives a bool; only float-valued ops can be fused`);
    if (!refs.every((r) => ok(r, i))) throw new FusedChainError(`fused: step ${i} refers to an input or step that does not exist (${n} inputs)`);
  });
}

/** Runs a traced chain on tensors (broadcast together) as one `fused` kernel. */
export function fused(program: FusedStep[], inputs: Tensor[]): Tensor {
  checkProgram(program, inputs.length);
  if (inputs.length === 0) throw new FusedChainError('fused: give at least one tensor');
  const bad = inputs.find((t) => !isFloat(t.dtype));
  if (bad) throw new FusedChainError(`fused: inputs must be float tensors, got ${bad.dtype} (cast with .toFloat() first)`);
  const backend = inputs[0].backend;
  if (inputs.some((t) => t.backend !== backend)) throw new FusedChainError(`fused: every input must be on one backend (${inputs.map((t) => t.backend.name).join(', ')})`);
  const shape = broadcastShapes(...inputs.map((t) => t.shape));
  const dtype: DType = inputs.map((t) => t.dtype).reduce(promote);
  const y = noGrad(() => {
    const views = inputs.map((t) => expand(t.dtype === dtype ? t : cast(t, dtype), shape));
    const [out] = run('fused', views, [{ shape, dtype }], { program });
    for (const v of views) if (!inputs.includes(v)) v.dispose();
    return out;
  });
  const shapes = inputs.map((t) => t.shape);
  return record('fused', inputs, y, (g, ctx) => chainBackward(program, ctx.inputs, g, shapes), { saveInputs: true });
}

/** Reverse mode through the chain, op by op, with the table's vjp rows. */
function chainBackward(program: FusedStep[], xs: readonly Tensor[], g: Tensor, shapes: (readonly number[])[]): (Tensor | null)[] {
  return tidy(() => {
    const vals: Tensor[] = [];
    const val = (r: FusedRef): Tensor | number => ('input' in r ? xs[r.input] : 'step' in r ? vals[r.step] : r.value);
    const asT = (v: Tensor | number): Tensor => (typeof v === 'number' ? full([], v, { dtype: g.dtype, backend: g.backend }) : v);
    noGrad(() => {
      for (const s of program) vals.push('unary' in s ? unary(s.unary, asT(val(s.x)), s.p, s.q) : binary(s.binary, val(s.a), val(s.b)));
    });
    const stepGrad: (Tensor | null)[] = program.map(() => null);
    const inGrad: (Tensor | null)[] = xs.map(() => null);
    const acc = (r: FusedRef, d: Tensor | null) => {
      if (!d || 'value' in r) return;
      const slot = 'input' in r ? inGrad : stepGrad;
      const k = 'input' in r ? r.input : r.step;
      const cur = slot[k];
      slot[k] = cur ? cur.add(d) : d;
    };
    stepGrad[program.length - 1] = g;
    for (let i = program.length - 1; i >= 0; i--) {
      const gi = stepGrad[i];
      if (!gi) continue;
      const s = program[i];
      if ('unary' in s) {
        const vjp = (UNARY[s.unary] as UnaryRow).vjp;
        if (vjp) acc(s.x, vjp(gi, asT(val(s.x)), vals[i], s.p, s.q));
      } else {
        const vjp = (BINARY[s.binary] as BinaryRow).vjp;
        if (!vjp) continue;
        const [ga, gb] = vjp(gi, asT(val(s.a)), asT(val(s.b)), vals[i], [true, true]);
        acc(s.a, ga);
        acc(s.b, gb);
      }
    }
    return inGrad.map((d, j) => (d ? cast(sumTo(d, shapes[j]), xs[j].dtype) : null));
  });
}

/**
 * The chain as a JS function of the input values: with `f32`, rounded to float32 after every step (constants too),
 * like the GPU and like the unfused float32 ops; without, in float64 (float64 tensors).
 */
export function chainEvaluator(program: FusedStep[], f32 = true): (xs: number[]) => number {
  const f = f32 ? Math.fround : (v: number) => v;
  const steps = program.map((s) => {
    const get = (r: FusedRef): ((xs: number[], t: number[]) => number) => {
      if ('input' in r) return (xs) => xs[r.input];
      if ('step' in r) return (_xs, t) => t[r.step];
      const v = f(r.value);
      return () => v;
    };
    if ('unary' in s) {
      const x = get(s.x);
      const cpu = UNARY[s.unary].cpu;
      const [p, q] = [f(s.p), f(s.q)];
      return (xs: number[], t: number[]) => f(cpu(x(xs, t), p, q));
    }
    const [a, b] = [get(s.a), get(s.b)];
    const cpu = BINARY[s.binary].cpu;
    return (xs: number[], t: number[]) => f(cpu(a(xs, t), b(xs, t)));
  });
  return (xs) => {
    const t: number[] = [];
    for (const s of steps) t.push(s(xs, t));
    return t[t.length - 1];
  };
}

registerKernel('cpu', 'fused', (inputs, [y], attrs) => {
  const evalChain = chainEvaluator(attrs.program as FusedStep[], y.dtype !== 'float64');
  const srcs = inputs.map(arr);
  const ys = arr(y);
  const xs = new Array<number>(inputs.length).fill(0);
  const k = inputs.length;
  forEachOffset(y.shape, [...inputs, y], (_i, o) => {
    for (let j = 0; j < k; j++) xs[j] = srcs[j][o[j]];
    ys[o[k]] = evalChain(xs);
  });
});
