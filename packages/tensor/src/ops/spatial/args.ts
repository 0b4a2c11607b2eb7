/**
 * Argument helpers shared by the spatial ops (conv2d, pooling, interpolate, grid_sample, deformable attention):
 * (h, w) pair normalisation, PyTorch's pooling output-size rule, and the typed error for bad options.
 */
import type { DType } from '../../dtype.ts';
import { isFloat } from '../../dtype.ts';
import { ShapeError, fmtShape } from '../../shape.ts';
import type { Tensor } from '../../tensor.ts';

/** An invalid option value (stride 0, negative padding, unknown mode...); the message names the option. */
export class SpatialOptionError extends Error {
  override name = 'SpatialOptionError';
}

export type Pair = [number, number];

/** The window geometry of a 2-D sliding-window kernel (conv2d, pooling): input and output sizes, kernel, stride,
 * padding and dilation per axis. */
export interface Window2d {
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

/** A number or an (h, w) pair as a pair of integers, each >= `min`. */
export function pair(op: string, name: string, v: number | readonly number[] | undefined, dflt: number | readonly number[], min: number): Pair {
  const raw = v ?? dflt;
  const p: number[] = typeof raw === 'number' ? [raw, raw] : [...raw];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new SpatialOptionError(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(raw)}`);
  }
  return [p[0], p[1]];
}

/** Throws a ShapeError unless `x` is a 4-D NCHW tensor of a floating dtype. */
export function expectNchw(op: string, name: string, x: Tensor): void {
  if (x.rank !== 4) throw new ShapeError(`${op}: ${name} must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  expectFloat(op, name, x.dtype);
}

export function expectFloat(op: string, name: string, dtype: DType): void {
  if (!isFloat(dtype)) throw new SpatialOptionError(`${op}: ${name} must be a floating tensor, got ${dtype}: cast it with .toFloat()`);
}

/**
 * PyTorch's pooling output size (pooling_output_shape): floor((in + 2p - d(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1,
 * and in ceil mode the last window must start inside the input or its left padding.
 */
export function poolOutSize(inSize: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let out = Math.floor((inSize + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= inSize + p) out--;
  return out;
}
