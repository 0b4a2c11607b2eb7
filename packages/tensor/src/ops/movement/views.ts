/**
 * View ops: new shape/strides/offset over the same storage, no kernel. Each records its backward with other ops.
 */
import { record } from '../../autograd/engine.ts';
import type { Shape } from '../../shape.ts';
import { ShapeError, broadcastShapes, contiguousStrides, fmtShape, inferShape, normDim, numel, shapesEqual } from '../../shape.ts';
import { Tensor, zeros } from '../../tensor.ts';
import { alias, contiguous, copyInto } from '../copy/copy.ts';
import { sumTo } from '../reduce/reduce.ts';

function viewOf(x: Tensor, shape: Shape, strides: Shape, offset: number): Tensor {
  x.assertAlive();
  return new Tensor(x.storage, shape, strides, offset, x.dtype);
}

/** Strides for viewing `x` with `shape` without copying, or null when the memory layout does not allow it. */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  if (x.isContiguous) return contiguousStrides(shape);
  // Split/merge dims only within runs of old dims that are contiguous with each other (size-1 dims dropped).
  const old = x.shape.map((d, i) => [d, x.strides[i]] as const).filter(([d]) => d !== 1);
  const out = new Array<number>(shape.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < shape.length) {
    if (shape[ni] === 1) {
      out[ni] = 1;
      ni++;
      continue;
    }
    if (oi >= old.length) return null;
    let chunkSize = old[oi][0];
    let oj = oi;
    while (oj + 1 < old.length && old[oj][1] === old[oj + 1][0] * old[oj + 1][1]) {
      oj++;
      chunkSize *= old[oj][0];
    }
    const baseStride = old[oj][1];
    let prod = 1;
    const start = ni;
    while (ni < shape.length && prod < chunkSize) {
      prod *= shape[ni];
      ni++;
    }
    if (prod !== chunkSize) return null;
    let s = baseStride;
    for (let k = ni - 1; k >= start; k--) {
      out[k] = s;
      s *= shape[k];
    }
    oi = oj + 1;
  }
  return oi === old.length ? out : null;
}

/** Like torch.reshape: a view when possible, else a contiguous copy. Accepts one -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape(shape, x.numel);
  const strides = x.numel === 0 ? null : viewStrides(x, target);
  const inShape = x.shape;
  if (strides) {
    const v = viewOf(x, target, strides, x.offset);
    return record('reshape', [x], v, (g) => [reshape(g, inShape)], { saveInputs: false });
  }
  const c = contiguous(x);
  const v = viewOf(c, target, contiguousStrides(target), c.offset);
  const out = record('reshape', [c], v, (g) => [reshape(g, inShape)], { saveInputs: false });
  c.dispose();
  return out;
}


/** Like torch.view: fails instead of copying. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape(shape, x.numel);
  if (!viewStrides(x, target)) throw new ShapeError(`view ${fmtShape(target)} is incompatible with the layout of ${fmtShape(x.shape)}: use reshape() or contiguous() first`);
  return reshape(x, target);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const r = x.rank;
  const d = dims.map((v) => normDim(v, r));
  if (d.length !== r || new Set(d).size !== r) throw new ShapeError(`permute needs a permutation of ${r} dims, got [${dims.join(', ')}]`);
  const v = viewOf(
    x,
    d.map((i) => x.shape[i]),
    d.map((i) => x.strides[i]),
    x.offset,
  );
  const inv = new Array<number>(r);
  d.forEach((p, i) => (inv[p] = i));
  return record('permute', [x], v, (g) => [permute(g, inv)], { saveInputs: false });
}

export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  const r = x.rank;
  const a = normDim(d0, r);
  const b = normDim(d1, r);
  const dims = Array.from({ length: r }, (_, i) => i);
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/** Like torch.expand: size-1 dims broadcast (stride 0); -1 keeps a dim; new leading dims may be added. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0) throw new ShapeError(`cannot expand ${fmtShape(x.shape)} to fewer dims ${fmtShape(shape)}`);
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - lead] : d));
  if (shapesEqual(target, x.shape)) return alias(x);
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const s = x.shape[i - lead];
    if (s === d) return x.strides[i - lead];
    if (s === 1) return 0;
    throw new ShapeError(`cannot expand ${fmtShape(x.shape)} to ${fmtShape(target)}`);
  });
  const inShape = x.shape;
  const v = viewOf(x, target, strides, x.offset);
  return record('expand', [x], v, (g) => [sumTo(g, inShape)], { saveInputs: false });
}

export function broadcastTensors(...xs: Tensor[]): Tensor[] {
  const s = broadcastShapes(...xs.map((x) => x.shape));
  return xs.map((x) => expand(x, s));
}

/** Elements start, start+step, ... (< end) along `dim`, like x[..., start:end:step, ...]; negative indices wrap. */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normDim(dim, x.rank);
  const n = x.shape[d];
  if (step < 1) throw new ShapeError(`slice step must be positive, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = Math.max(clampIdx(end ?? n), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[d] = len;
  const strides = [...x.strides];
  strides[d] = x.strides[d] * step;
  const v = viewOf(x, shape, strides, x.offset + (len > 0 ? s * x.strides[d] : 0));
  const inShape = x.shape;
  const dtype = x.dtype;
  const backend = x.backend;
  return record(
    'slice',
    [x],
    v,
    (g) => {
      const gx = zeros(inShape, { dtype, backend });
      const part = slice(gx, d, s, e, step);
      copyInto(part, g);
      part.dispose();
      return [gx];
    },
    { saveInputs: false },
  );
}

/** torch.narrow: `length` elements from `start` along `dim`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.rank);
  if (start < 0) start += x.shape[d];
  if (start < 0 || length < 0 || start + length > x.shape[d]) throw new ShapeError(`narrow(${dim}, ${start}, ${length}) is out of range for ${fmtShape(x.shape)}`);
  return slice(x, d, start, start + length);
}

/** x[..., index, ...] along `dim` (the dim is removed). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim(dim, x.rank);
  const i = index < 0 ? index + x.shape[d] : index;
  if (i < 0 || i >= x.shape[d]) throw new ShapeError(`index ${index} is out of range for dim ${dim} of size ${x.shape[d]}`);
  const s = slice(x, d, i, i + 1);
  const out = squeeze(s, d);
  s.dispose();
  return out;
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((_, i) => i) : (typeof dim === 'number' ? [dim] : dim).map((v) => normDim(v, x.rank));
  const keepDim = x.shape.map((s, i) => !(s === 1 && dims.includes(i)));
  return reshapeView(
    x,
    x.shape.filter((_, i) => keepDim[i]),
    x.strides.filter((_, i) => keepDim[i]),
  );
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.rank + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.rank ? x.strides[d] * x.shape[d] : 1);
  return reshapeView(x, shape, strides);
}

function reshapeView(x: Tensor, shape: readonly number[], strides: readonly number[]): Tensor {
  const inShape = x.shape;
  const v = viewOf(x, shape, strides, x.offset);
  return record('reshape', [x], v, (g) => [reshape(g, inShape)], { saveInputs: false });
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.rank);
  const e = normDim(endDim, x.rank);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normDim(dim, x.rank);
  return reshape(x, [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
}
