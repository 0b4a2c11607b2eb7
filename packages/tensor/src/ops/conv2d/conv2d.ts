/**
 * conv2d (torch.nn.functional.conv2d): NCHW input, weight [out, in/groups, kh, kw], optional bias [out], with
 * stride, zero padding, dilation and groups. Kernels and their contracts: ./conv2d-cpu.ts.
 */
import './conv2d-cpu.ts';
import { noGrad, record } from '../../autograd/engine.ts';
import { tidy } from '../../memory.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';
import { cast, contiguous } from '../copy/copy.ts';
import { run } from '../dispatch.ts';
import { promote } from '../elementwise/elementwise.ts';
import { squeeze, unsqueeze } from '../movement/views.ts';
import { sum } from '../reduce/reduce.ts';
import { SpatialOptionError, expectNchw, pair } from '../spatial/args.ts';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** The output size of a convolution along one dim. */
export function convOutSize(inSize: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((inSize + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** torch.nn.functional.conv2d. A 3-D input [C, H, W] is treated as a batch of one. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  if (x.rank === 3) return tidy(() => squeeze(conv2d(unsqueeze(x, 0), weight, bias, opts), 0));
  expectNchw('conv2d', 'input', x);
  const stride = pair('conv2d', 'stride', opts.stride, 1, 1);
  const padding = pair('conv2d', 'padding', opts.padding, 0, 0);
  const dilation = pair('conv2d', 'dilation', opts.dilation, 1, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new SpatialOptionError(`conv2d: groups must be a positive integer, got ${groups}`);
  if (weight.rank !== 4) throw new ShapeError(`conv2d: weight must be 4-D [out, in/groups, kh, kw], got ${fmtShape(weight.shape)}`);
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  if (C % groups !== 0 || O % groups !== 0) {
    throw new ShapeError(`conv2d: ${C} input and ${O} output channels must both be divisible by groups = ${groups}`);
  }
  if (Cg * groups !== C) {
    throw new ShapeError(`conv2d: weight ${fmtShape(weight.shape)} expects ${Cg * groups} input channels (groups = ${groups}), the input ${fmtShape(x.shape)} has ${C}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) throw new ShapeError(`conv2d: bias must be [${O}], got ${fmtShape(bias.shape)}`);
  const Ho = convOutSize(H, kh, stride[0], padding[0], dilation[0]);
  const Wo = convOutSize(W, kw, stride[1], padding[1], dilation[1]);
  if (Ho < 1 || Wo < 1) {
    throw new ShapeError(
      `conv2d: input ${fmtShape(x.shape)} (padded by ${padding.join('x')}) is smaller than the dilated kernel ${kh}x${kw} (dilation ${dilation.join('x')}): output would be ${Ho}x${Wo}`,
    );
  }
  let dtype = promote(x.dtype, weight.dtype);
  if (bias) dtype = promote(dtype, bias.dtype);
  const attrs = { stride, padding, dilation, groups };
  const prep = (t: Tensor) => contiguous(t.dtype === dtype ? t : cast(t, dtype));
  const y = noGrad(() =>
    tidy(() => {
      const ins = [prep(x), prep(weight)];
      if (bias) ins.push(prep(bias));
      return run('conv2d', ins, [{ shape: [N, O, Ho, Wo], dtype }], attrs)[0];
    }),
  );
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record('conv2d', inputs, y, (g, ctx) => {
    const [xi, wi] = ctx.inputs;
    const gc = contiguous(g);
    const back = (t: Tensor, like: Tensor) => (t.dtype === like.dtype ? t : cast(t, like.dtype));
    const gx = x.requiresGrad ? back(run('conv2d_grad_input', [gc, prep(wi)], [{ shape: xi.shape, dtype }], attrs)[0], xi) : null;
    const gw = weight.requiresGrad ? back(run('conv2d_grad_weight', [gc, prep(xi)], [{ shape: wi.shape, dtype }], attrs)[0], wi) : null;
    const gb = bias?.requiresGrad ? back(sum(gc, [0, 2, 3]), bias) : null;
    return [gx, gw, gb];
  });
}
