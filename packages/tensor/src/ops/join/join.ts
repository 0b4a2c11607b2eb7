/** cat, stack, split, chunk and pad, built on the copy kernel and views (no kernels of their own). */
import { record } from '../../autograd/engine.ts';
import { ShapeError, fmtShape, normDim } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { full } from '../../tensor.ts';
import { promote } from '../elementwise/elementwise.ts';
import { cast, copyInto } from '../copy/copy.ts';
import { empty, backendOf } from '../dispatch.ts';
import { expand, narrow, slice, unsqueeze } from '../movement/views.ts';

/** torch.cat along `dim`. */
export function cat(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('cat needs at least one tensor');
  const ref = xs.find((x) => x.numel > 0 || x.rank > 1) ?? xs[0];
  const d = normDim(dim, ref.rank);
  const parts = xs.filter((x) => !(x.rank === 1 && x.numel === 0 && ref.rank !== 1));
  for (const x of parts) {
    if (x.rank !== ref.rank || x.shape.some((s, i) => i !== d && s !== ref.shape[i])) {
      throw new ShapeError(`cat along dim ${dim}: ${fmtShape(x.shape)} does not match ${fmtShape(ref.shape)} outside that dim`);
    }
  }
  const dtype = parts.map((x) => x.dtype).reduce(promote);
  const shape = [...ref.shape];
  shape[d] = parts.reduce((a, x) => a + x.shape[d], 0);
  const out = empty(backendOf(parts), shape, dtype);
  let off = 0;
  const sizes: number[] = [];
  for (const x of parts) {
    const dst = narrow(out, d, off, x.shape[d]);
    copyInto(dst, x);
    dst.dispose();
    off += x.shape[d];
    sizes.push(x.shape[d]);
  }
  return record(
    'cat',
    parts,
    out,
    (g) => {
      let o = 0;
      return parts.map((x, i) => {
        const gi = narrow(g, d, o, sizes[i]).contiguous();
        o += sizes[i];
        return x.dtype === g.dtype ? gi : cast(gi, x.dtype);
      });
    },
    { saveInputs: false },
  );
}

/** torch.stack: new dim `dim`. */
export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('stack needs at least one tensor');
  const d = normDim(dim, xs[0].rank + 1);
  const us = xs.map((x) => unsqueeze(x, d));
  const out = cat(us, d);
  for (const u of us) u.dispose();
  return out;
}

/** torch.split: pieces of `size` (or of the listed sizes) along `dim`, as views. */
export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.rank);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    sizes = [];
    for (let o = 0; o < n; o += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, n - o));
  } else {
    sizes = [...sizeOrSizes];
    if (sizes.reduce((a, b) => a + b, 0) !== n) throw new ShapeError(`split sizes [${sizes.join(', ')}] do not add up to ${n}`);
  }
  let off = 0;
  return sizes.map((s) => {
    const v = narrow(x, d, off, s);
    off += s;
    return v;
  });
}

/** torch.chunk: `chunks` pieces of ceil(n / chunks) along `dim`. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const n = x.shape[normDim(dim, x.rank)];
  return split(x, Math.ceil(n / chunks), dim);
}

export type PadMode = 'constant' | 'replicate';

/**
 * torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the LAST dim. Negative pads crop.
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) throw new ShapeError(`pad needs (before, after) pairs for at most ${x.rank} dims, got ${pads.length} values`);
  let cur = x;
  for (let p = 0; p < pads.length / 2; p++) {
    const d = x.rank - 1 - p;
    let before = pads[2 * p];
    let after = pads[2 * p + 1];
    if (before < 0 || after < 0) {
      const n = cur.shape[d];
      const next = slice(cur, d, Math.max(-before, 0), n - Math.max(-after, 0));
      if (cur !== x) cur.dispose();
      cur = next;
      before = Math.max(before, 0);
      after = Math.max(after, 0);
    }
    if (before === 0 && after === 0) continue;
    const parts: Tensor[] = [];
    const edge = (len: number, at: number) => {
      if (mode === 'replicate') {
        const e = narrow(cur, d, at, 1);
        const shape = [...cur.shape];
        shape[d] = len;
        return expand(e, shape);
      }
      const shape = [...cur.shape];
      shape[d] = len;
      return full(shape, value, { dtype: cur.dtype, backend: cur.backend });
    };
    if (mode === 'replicate' && cur.shape[d] === 0) throw new ShapeError('replicate padding of an empty dim');
    if (before) parts.push(edge(before, 0));
    parts.push(cur);
    if (after) parts.push(edge(after, cur.shape[d] - 1));
    const next = cat(parts, d);
    for (const t of parts) if (t !== cur) t.dispose();
    if (cur !== x) cur.dispose();
    cur = next;
  }
  return cur;
}
