/**
 * Reductions over dims (kernel `reduce` with attrs {op: sum|prod|max|min|argmax|argmin, dims}) and the composites
 * built on them: mean, variance, std, logsumexp, sumTo (the broadcast-undo used by every backward).
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { forEachRow } from '../../backends/cpu/iter.ts';
import type { DType } from '../../dtype.ts';
import { isFloat } from '../../dtype.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { contiguousStrides, normDims, numel, shapesEqual } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { run } from '../dispatch.ts';
import { cast } from '../copy/copy.ts';
import { expand, reshape } from '../movement/views.ts';
import { tidy } from '../../memory.ts';
import { argRow, extremeRow, sumRow } from './rows.ts';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin';

registerKernel('cpu', 'reduce', ([x], [y], attrs) => {
  const op = attrs.op;
  const dims = attrs.dims as number[];
  const xs = arr(x);
  const ys = arr(y);
  const rank = x.shape.length;
  // Output offsets: keepdim-shaped output strides with 0 on reduced dims.
  const keepShape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const ks = contiguousStrides(keepShape);
  const outView = { strides: ks.map((s, i) => (dims.includes(i) ? 0 : s)), offset: 0 };
  const n = numel(keepShape);
  const acc = new Float64Array(n);
  acc.fill(op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' || op === 'argmax' ? -Infinity : Infinity);
  const isArg = op === 'argmax' || op === 'argmin';
  const best = new Int32Array(isArg ? n : 0).fill(-1);
  const idxView = { strides: new Array<number>(rank).fill(0), offset: 0 };
  if (isArg) {
    const ss = contiguousStrides(dims.map((d) => x.shape[d]));
    dims.forEach((d, j) => (idxView.strides[d] = ss[j]));
  }
  forEachRow(x.shape, isArg ? [x, outView, idxView] : [x, outView], (o, len, st) => {
    if (op === 'sum') sumRow(xs, o[0], st[0], acc, o[1], st[1], len);
    else if (isArg) argRow(op === 'argmax', xs, o[0], st[0], acc, best, o[1], st[1], o[2], st[2], len);
    else extremeRow(op, xs, o[0], st[0], acc, o[1], st[1], len);
  });
  for (let k = 0; k < n; k++) ys[k] = isArg ? best[k] : acc[k];
});

function reduceRaw(x: Tensor, op: ReduceOp, dims: number[], keepdim: boolean, dtype: DType): Tensor {
  const keepShape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const outShape = keepdim ? keepShape : x.shape.filter((_, i) => !dims.includes(i));
  if (x.numel === 0 && op !== 'sum' && op !== 'prod') throw new RangeError(`${op} of an empty tensor is undefined`);
  return run('reduce', [x], [{ shape: outShape, dtype }], { op, dims })[0];
}

function accDtype(x: Tensor): DType {
  return isFloat(x.dtype) ? x.dtype : 'int32';
}

const keepShapeOf = (shape: readonly number[], dims: number[]) => shape.map((d, i) => (dims.includes(i) ? 1 : d));

/** Sum over `dim` (all dims when undefined). */
export function sum(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const dims = normDims(dim, x.rank);
  const y = reduceRaw(x, 'sum', dims, keepdim, accDtype(x));
  const inShape = x.shape;
  return record('sum', [x], y, (g) => [expand(reshape(g, keepShapeOf(inShape, dims)), inShape).contiguous()], { saveInputs: false });
}

export function prod(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const dims = normDims(dim, x.rank);
  const y = reduceRaw(x, 'prod', dims, keepdim, accDtype(x));
  const inShape = x.shape;
  return record(
    'prod',
    [x],
    y,
    (g, ctx) => {
      const keep = keepShapeOf(inShape, dims);
      return [reshape(g, keep).mul(reshape(ctx.output!, keep)).div(ctx.inputs[0])];
    },
    { saveOutput: true },
  );
}

function extremum(x: Tensor, op: 'max' | 'min', dim: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const dims = normDims(dim, x.rank);
  const y = reduceRaw(x, op, dims, keepdim, x.dtype);
  const inShape = x.shape;
  return record(
    op,
    [x],
    y,
    (g, ctx) => {
      // amax rule: the gradient is split evenly over tied extrema.
      const keep = keepShapeOf(inShape, dims);
      const mask = cast(ctx.inputs[0].eq(reshape(ctx.output!, keep)), g.dtype);
      return [reshape(g, keep).mul(mask).div(sum(mask, dims, true))];
    },
    { saveOutput: true },
  );
}

/** Maximum over dims (torch.amax semantics; use argmax for indices). */
export const max = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => extremum(x, 'max', dim, keepdim);
export const min = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => extremum(x, 'min', dim, keepdim);

function argReduce(x: Tensor, op: 'argmax' | 'argmin', dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    const flat = reshape(x, [-1]);
    const out = reduceRaw(flat, op, [0], false, 'int32');
    flat.dispose();
    return out;
  }
  return reduceRaw(x, op, normDims(dim, x.rank), keepdim, 'int32');
}

/** Index of the first maximum along `dim` (of the flattened tensor when undefined), int32. */
export const argmax = (x: Tensor, dim?: number, keepdim = false): Tensor => argReduce(x, 'argmax', dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false): Tensor => argReduce(x, 'argmin', dim, keepdim);

export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const dims = normDims(dim, x.rank);
  const n = dims.reduce((a, d) => a * x.shape[d], 1);
  return tidy(() => sum(isFloat(x.dtype) ? x : cast(x, 'float32'), dims, keepdim).div(n));
}

/** Variance with Bessel's correction by default (torch's `correction=1`). */
export function variance(x: Tensor, dim?: number | readonly number[], keepdim = false, correction = 1): Tensor {
  const dims = normDims(dim, x.rank);
  const n = dims.reduce((a, d) => a * x.shape[d], 1);
  return tidy(() => sum(x.sub(mean(x, dims, true)).square(), dims, keepdim).div(Math.max(n - correction, 0)));
}

export function std(x: Tensor, dim?: number | readonly number[], keepdim = false, correction = 1): Tensor {
  return tidy(() => variance(x, dim, keepdim, correction).sqrt());
}

/** log(sum(exp(x))) over dims, computed stably. */
export function logsumexp(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const dims = normDims(dim, x.rank);
  return tidy(() => {
    const m = noGrad(() => {
      const mx = max(x, dims, true);
      return mx.where(mx.isinf().logicalNot(), 0);
    });
    const s = sum(x.sub(m).exp(), dims, true).log().add(m);
    return keepdim ? s : reshape(s, x.shape.filter((_, i) => !dims.includes(i)));
  });
}

/** Sums `g` down to `shape` (undoing broadcasting): the gradient of an expand. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  return tidy(() => reshape(sum(g, dims, true), shape));
}
