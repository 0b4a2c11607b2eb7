/**
 * cpu-wasm kernels for elementwise ops and row normalisation on float32 (other dtypes, and layouts the SIMD loops do
 * not cover, decline to the readable kernels): `binary:<op>` when the output is dense and each operand is dense
 * with the output's shape, a single scalar, or a row broadcast along the last dim; `unary:<op>` on dense views;
 * `norm_rows` and `norm_rows_backward` on dense rows (their contracts are in ops/norm/norm.ts).
 */
import type { View } from '../../../backend.ts';
import { isContiguous, numel } from '../../../shape.ts';
import { addr } from '../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { BINARY_OPS, UNARY_OPS } from '../kernels/rows.ts';

const dense = (v: View): boolean => v.dtype === 'float32' && isContiguous(v.shape, v.strides);
const scalar = (v: View): boolean => v.dtype === 'float32' && v.strides.every((s, d) => s === 0 || v.shape[d] === 1);
/** A [.., N] operand broadcast over the leading dims of a dense [R, N] output: stride 1 along N, 0 elsewhere. */
const rowBroadcast = (v: View): boolean => {
  const r = v.shape.length;
  return v.dtype === 'float32' && r >= 1 && v.strides[r - 1] === 1 && v.strides.slice(0, -1).every((s, d) => s === 0 || v.shape[d] === 1);
};

for (const op of BINARY_OPS) {
  registerKernel('cpu-wasm', `binary:${op}`, (rt, [a, b], [y]) => {
    if (!dense(y)) return false;
    const n = numel(y.shape);
    const f = rt.fns[`bin_${op}`];
    if (dense(a) && dense(b)) f(addr(a), addr(b), addr(y), n, 0);
    else if (dense(a) && scalar(b)) f(addr(a), addr(b), addr(y), n, 1);
    else if (scalar(a) && dense(b)) f(addr(a), addr(b), addr(y), n, 2);
    else if (dense(a) && rowBroadcast(b) && y.shape.length >= 1) {
      const N = y.shape[y.shape.length - 1];
      if (N < 16) return false;
      for (let r = 0, R = n / N; r < R; r++) f(addr(a) + r * N * 4, addr(b), addr(y) + r * N * 4, N, 0);
    } else return false;
    return true;
  });
}

for (const op of UNARY_OPS) {
  registerKernel('cpu-wasm', `unary:${op}`, (rt, [x], [y]) => {
    if (!dense(x) || !dense(y)) return false;
    rt.fns[`un_${op}`](addr(x), addr(y), numel(y.shape));
    return true;
  });
}

registerKernel('cpu-wasm', 'norm_rows', (rt, [x], [y, rstd], attrs) => {
  if (!dense(x) || !dense(y) || !dense(rstd)) return false;
  const [R, N] = x.shape;
  rt.fns.norm_rows(addr(x), addr(y), addr(rstd), R, N, attrs.eps, attrs.rms ? 1 : 0);
  return true;
});

registerKernel('cpu-wasm', 'norm_rows_backward', (rt, [g, y, rstd], [dx], attrs) => {
  if (![g, y, rstd, dx].every(dense)) return false;
  const [R, N] = g.shape;
  rt.fns.norm_rows_bwd(addr(g), addr(y), addr(rstd), addr(dx), R, N, attrs.rms ? 1 : 0);
  return true;
});
