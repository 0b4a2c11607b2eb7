/**
 * `copy`: the one data-movement kernel. Reads a strided view of any dtype and writes a strided view of any dtype
 * (casting like torch: floats truncate toward zero into ints, nonzero -> true into bool). contiguous(), clone(),
 * casts, cat, pad and the backward of slicing are all built on it.
 */
import { registerKernel } from '../../kernels.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { forEachRow } from '../../backends/cpu/iter.ts';
import type { DType } from '../../dtype.ts';
import { isFloat } from '../../dtype.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { shapesEqual } from '../../shape.ts';
import { Tensor } from '../../tensor.ts';
import { run, runInto } from '../dispatch.ts';
import { expand } from '../movement/views.ts';

registerKernel('cpu', 'copy', ([src], [dst]) => {
  const s = arr(src);
  const d = arr(dst);
  const toInt = dst.dtype === 'int32' || dst.dtype === 'uint8';
  const toBool = dst.dtype === 'bool';
  const toU8 = dst.dtype === 'uint8';
  const plain = !toBool && !toInt;
  forEachRow(dst.shape, [src, dst], ([os, od], n, [ss, sd]) => {
    if (plain && ss === 1 && sd === 1 && s.constructor === d.constructor) d.set(s.subarray(os, os + n), od);
    else if (plain) for (let i = 0; i < n; i++) d[od + i * sd] = s[os + i * ss];
    else {
      for (let i = 0; i < n; i++) {
        let v = s[os + i * ss];
        if (toBool) v = v !== 0 ? 1 : 0;
        else {
          v = Math.trunc(v);
          if (toU8) v = ((v % 256) + 256) % 256;
        }
        d[od + i * sd] = v;
      }
    }
  });
});

/** A contiguous copy with the same values (always a new storage). */
export function clone(x: Tensor): Tensor {
  const [out] = run('copy', [x], [{ shape: x.shape, dtype: x.dtype }], {});
  return record('clone', [x], out, (g) => [g], { saveInputs: false });
}

/** A new Tensor object on the same storage (no copy). */
export function alias(x: Tensor): Tensor {
  x.assertAlive();
  const v = new Tensor(x.storage, x.shape, x.strides, x.offset, x.dtype);
  return record('alias', [x], v, (g) => [g], { saveInputs: false });
}

/** `x` viewed again if already contiguous (a new Tensor object on the same storage), else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  return x.isContiguous ? alias(x) : clone(x);
}

/** Casts to `dtype` (like torch `.to(dtype)`); gradients flow between float dtypes. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return alias(x);
  const [out] = run('copy', [x], [{ shape: x.shape, dtype }], {});
  if (!isFloat(dtype) || !isFloat(x.dtype)) return out;
  const from = x.dtype;
  return record('cast', [x], out, (g) => [cast(g, from)], { saveInputs: false });
}

/** Writes `src` (broadcast to `dst`'s shape, cast to its dtype) into the view `dst`, in place. Not differentiable. */
export function copyInto(dst: Tensor, src: Tensor): void {
  noGrad(() => {
    const s = shapesEqual(src.shape, dst.shape) ? src : expand(src, dst.shape);
    runInto('copy', [s], [dst], {});
    if (s !== src) s.dispose();
  });
}
