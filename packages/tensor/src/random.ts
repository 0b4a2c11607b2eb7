/**
 * Seeded random numbers: a Generator (xoshiro128**) drives rand/randn/randint, so runs are reproducible.
 * Values are produced on the CPU and uploaded to the target backend.
 */
import type { CreateOptions, Tensor } from './tensor.ts';
import { fromStorageArray } from './tensor.ts';
import type { Shape } from './shape.ts';
import { numel } from './shape.ts';
import { fromNumbers } from './dtype.ts';

export class Generator {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the state from a seed (splitmix32 expansion). */
  manualSeed(seed: number): this {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.#spare = null;
    return this;
  }

  /** The full state (four xoshiro words and the cached normal), to checkpoint and restore a run bit for bit. */
  getState(): { words: number[]; spare: number | null } {
    return { words: [...this.#s], spare: this.#spare };
  }

  setState(st: { words: readonly number[]; spare: number | null }): this {
    if (st.words.length !== 4 || st.words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) throw new RangeError('Generator.setState: words must be four unsigned 32-bit integers (from getState())');
    this.#s.set(st.words);
    this.#spare = st.spare;
    return this;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    return (this.nextU32() * 2 ** 21 + (this.nextU32() >>> 11)) / 2 ** 53;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const w = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * w);
    return r * Math.cos(2 * Math.PI * w);
  }

  /** Uniform integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator used when none is passed; reseed it with `manualSeed(s)`. */
export const defaultGenerator = new Generator(0);

export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function fill(shape: Shape, opts: RandomOptions, f: (g: Generator) => number, defaultDtype: 'float32' | 'int32' = 'float32'): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const n = numel(shape);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = f(g);
  const dtype = opts.dtype ?? defaultDtype;
  return fromStorageArray(fromNumbers(dtype, vals), shape, dtype, opts);
}

/** Uniform in [low, high). */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const lo = opts.low ?? 0;
  const hi = opts.high ?? 1;
  return fill(shape, opts, (g) => lo + (hi - lo) * g.random());
}

/** Normal with the given mean and std (defaults 0 and 1). */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const mu = opts.mean ?? 0;
  const sd = opts.std ?? 1;
  return fill(shape, opts, (g) => mu + sd * g.normal());
}

/** Uniform integers in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  return fill(shape, opts, (g) => g.int(low, high), 'int32');
}
