/**
 * Elementwise frontends (dtype promotion, broadcasting, autograd) and the generic CPU kernels that run every row of
 * ./table.ts. Kernel names: `unary:<name>`, `binary:<name>`, `where`.
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { forEachRow } from '../../backends/cpu/iter.ts';
import type { DType } from '../../dtype.ts';
import { isFloat } from '../../dtype.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { broadcastShapes } from '../../shape.ts';
import { Tensor, full } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { cast } from '../copy/copy.ts';
import { expand } from '../movement/views.ts';
import { sumTo } from '../reduce/reduce.ts';
import type { BinaryName, BinaryRow, Need, UnaryName, UnaryRow } from './table.ts';
import { BINARY, UNARY } from './table.ts';
import { ARITH_ROWS, genericRow, truncRow } from './rows.ts';

for (const [name, row] of Object.entries(UNARY) as [UnaryName, UnaryRow][]) {
  registerKernel('cpu', `unary:${name}`, ([x], [y], attrs) => {
    const xs = arr(x);
    const ys = arr(y);
    const p = (attrs.p) ?? 0;
    const q = (attrs.q) ?? 0;
    const f = row.cpu;
    forEachRow(y.shape, [x, y], ([ox, oy], n, [sx, sy]) => {
      for (let i = 0; i < n; i++) ys[oy + i * sy] = f(xs[ox + i * sx], p, q);
    });
  });
}

for (const [name, row] of Object.entries(BINARY) as [BinaryName, BinaryRow][]) {
  registerKernel('cpu', `binary:${name}`, ([a, b], [y]) => {
    const as = arr(a);
    const bs = arr(b);
    const ys = arr(y);
    const intOut = y.dtype === 'int32' || y.dtype === 'uint8';
    const loop = intOut ? truncRow(row.cpu) : (ARITH_ROWS[name] ?? genericRow(row.cpu));
    forEachRow(y.shape, [a, b, y], (o, n, s) => loop(as, o[0], s[0], bs, o[1], s[1], ys, o[2], s[2], n));
  });
}

registerKernel('cpu', 'where', ([c, a, b], [y]) => {
  const cs = arr(c);
  const as = arr(a);
  const bs = arr(b);
  const ys = arr(y);
  forEachRow(y.shape, [c, a, b, y], ([oc, oa, ob, oy], n, [sc, sa, sb, sy]) => {
    for (let i = 0; i < n; i++) ys[oy + i * sy] = cs[oc + i * sc] ? as[oa + i * sa] : bs[ob + i * sb];
  });
});

const FLOAT_RANK: Partial<Record<DType, number>> = { float16: 1, bfloat16: 1, float32: 2, float64: 3 };

/** torch-like type promotion for two tensor operands. */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  const fa = FLOAT_RANK[a];
  const fb = FLOAT_RANK[b];
  if (fa && fb) return fa === fb ? 'float32' : fa > fb ? a : b;
  if (fa) return a;
  if (fb) return b;
  if (a === 'int32' || b === 'int32') return 'int32';
  if (a === 'uint8' || b === 'uint8') return 'uint8';
  return 'bool';
}

export type Operand = Tensor | number | boolean;

/** A scalar as a 0-d tensor on `like`'s backend; it takes the tensor's dtype when the value fits (torch's rule). */
function scalarFor(v: number | boolean, like: Tensor): Tensor {
  const n = Number(v);
  let dtype: DType = like.dtype;
  if (dtype === 'bool' && typeof v !== 'boolean') dtype = Number.isInteger(n) ? 'int32' : 'float32';
  else if (!isFloat(dtype) && !Number.isInteger(n)) dtype = 'float32';
  return full([], n, { dtype, backend: like.backend });
}

export function unary(name: UnaryName, x: Tensor, p = 0, q = 0): Tensor {
  const row: UnaryRow = UNARY[name];
  const outDtype: DType = row.boolOut ? 'bool' : isFloat(x.dtype) || (row.keepsInt && x.dtype !== 'bool') ? x.dtype : 'float32';
  const [y] = run(`unary:${name}`, [x], [{ shape: x.shape, dtype: outDtype }], { p, q });
  const vjp = row.vjp;
  if (!vjp || !isFloat(outDtype)) return y;
  return record(name, [x], y, (g, ctx) => [vjp(g, ctx.inputs[0], ctx.output!, p, q)], { saveOutput: true });
}

export function binary(name: BinaryName, a: Operand, b: Operand): Tensor {
  const ta = a instanceof Tensor ? a : scalarFor(a, b as Tensor);
  const tb = b instanceof Tensor ? b : scalarFor(b, ta);
  const row: BinaryRow = BINARY[name];
  const opDtype = promote(ta.dtype, tb.dtype);
  let dtype = opDtype;
  if (row.floatOut && !isFloat(dtype)) dtype = 'float32';
  if (dtype === 'bool' && !row.boolOut) dtype = 'int32';
  const inDtype = row.boolOut ? opDtype : dtype;
  const shape = broadcastShapes(ta.shape, tb.shape);
  const y = noGrad(() => {
    const ca = ta.dtype === inDtype ? ta : cast(ta, inDtype);
    const cb = tb.dtype === inDtype ? tb : cast(tb, inDtype);
    const ea = expand(ca, shape);
    const eb = expand(cb, shape);
    const [out] = run(`binary:${name}`, [ea, eb], [{ shape, dtype: row.boolOut ? 'bool' : dtype }], {});
    for (const t of [ea, eb, ca, cb]) if (t !== ta && t !== tb) t.dispose();
    return out;
  });
  if (a !== ta) ta.dispose();
  if (b !== tb) tb.dispose();
  const vjp = row.vjp;
  if (!vjp || row.boolOut || !isFloat(dtype)) return y;
  const srcA = a instanceof Tensor ? a : null;
  const srcB = b instanceof Tensor ? b : null;
  const aShape = ta.shape;
  const bShape = tb.shape;
  // Only pow's rule reads the output; operands that need no gradient get none built.
  return record(
    name,
    [srcA, srcB].filter((t): t is Tensor => t !== null),
    y,
    (g, ctx) => {
      let k = 0;
      const va = srcA ? ctx.inputs[k++] : full([], Number(a), { dtype, backend: g.backend });
      const vb = srcB ? ctx.inputs[k++] : full([], Number(b), { dtype, backend: g.backend });
      const need: Need = [srcA?.requiresGrad === true, srcB?.requiresGrad === true];
      const [ga, gb] = vjp(g, va, vb, ctx.output as Tensor, need);
      const out: (Tensor | null)[] = [];
      if (srcA) out.push(ga && need[0] ? castTo(sumTo(ga, aShape), srcA.dtype) : null);
      if (srcB) out.push(gb && need[1] ? castTo(sumTo(gb, bShape), srcB.dtype) : null);
      return out;
    },
    { saveOutput: name === 'pow' },
  );
}

/** x in dtype (x itself when it has it already; the autograd engine aliases a gradient returned twice). */
const castTo = (x: Tensor, dtype: DType): Tensor => (x.dtype === dtype ? x : cast(x, dtype));

/** torch.where(cond, a, b) with broadcasting. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const ta = a instanceof Tensor ? a : scalarFor(a, like);
  const tb = b instanceof Tensor ? b : scalarFor(b, ta);
  const dtype = promote(ta.dtype, tb.dtype);
  const shape = broadcastShapes(cond.shape, ta.shape, tb.shape);
  const y = noGrad(() => {
    const ca = ta.dtype === dtype ? ta : cast(ta, dtype);
    const cb = tb.dtype === dtype ? tb : cast(tb, dtype);
    const views = [expand(cond, shape), expand(ca, shape), expand(cb, shape)];
    const [out] = run('where', views, [{ shape, dtype }], {});
    for (const t of [...views, ca, cb]) if (t !== ta && t !== tb) t.dispose();
    return out;
  });
  if (a !== ta) ta.dispose();
  if (b !== tb) tb.dispose();
  const inputs = [a, b].filter((t): t is Tensor => t instanceof Tensor);
  if (!isFloat(dtype) || inputs.length === 0) return y;
  const aShape = ta.shape;
  const bShape = tb.shape;
  return record(
    'where',
    inputs,
    y,
    (g, ctx) => {
      const c = ctx.saved[0];
      const out: (Tensor | null)[] = [];
      if (a instanceof Tensor) out.push(sumTo(where(c, g, 0), aShape));
      if (b instanceof Tensor) out.push(sumTo(where(c, 0, g), bShape));
      return out;
    },
    { saveInputs: false, saved: [cond] },
  );
}
