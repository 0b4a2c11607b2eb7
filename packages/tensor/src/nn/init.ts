/** Parameter creation options and PyTorch's default initialisations (seeded through a Generator). */
import type { Backend } from '../backend.ts';
import type { DType } from '../dtype.ts';
import type { Generator } from '../random.ts';
import { rand, randn } from '../random.ts';
import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { full } from '../tensor.ts';
import { buffer, parameter } from './module.ts';

export interface ParamInitOptions {
  dtype?: DType;
  backend?: string | Backend;
  /** Random source for the initial weights (default: the global generator). */
  generator?: Generator;
}

let skipInit = 0;

/**
 * Builds modules without drawing random initial weights (parameters start at zero): for models whose weights are
 * loaded right after, where drawing billions of random numbers would only waste time.
 */
export function withoutInit<T>(fn: () => T): T {
  skipInit++;
  try {
    return fn();
  } finally {
    skipInit--;
  }
}

/** U(-bound, bound) parameter: nn.Linear / nn.Conv2d defaults use bound = 1 / sqrt(fan_in). */
export function uniformParam(shape: Shape, bound: number, o: ParamInitOptions = {}): Tensor {
  if (skipInit) return constParam(shape, 0, o);
  return parameter(rand(shape, { low: -bound, high: bound, dtype: o.dtype, backend: o.backend, generator: o.generator }));
}

export function normalParam(shape: Shape, std: number, o: ParamInitOptions = {}): Tensor {
  if (skipInit) return constParam(shape, 0, o);
  return parameter(randn(shape, { std, dtype: o.dtype, backend: o.backend, generator: o.generator }));
}

export function constParam(shape: Shape, value: number, o: ParamInitOptions = {}): Tensor {
  return parameter(full(shape, value, { dtype: o.dtype, backend: o.backend }));
}

export function constBuffer(shape: Shape, value: number, o: ParamInitOptions & { persistent?: boolean } = {}): Tensor {
  return buffer(full(shape, value, { dtype: o.dtype, backend: o.backend }), { persistent: o.persistent });
}
