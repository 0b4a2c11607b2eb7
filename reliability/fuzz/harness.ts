/**
 * The fuzz harness: seeded inputs per target, each run classified as accepted, a typed error (a class extending
 * Error with its own `name`), an untyped error (Error, RangeError, TypeError, SyntaxError, ... or a non-Error), a
 * hang (one run over `hangMs`; runs are in-process, so a hang is measured after it returns) or an allocation over
 * the bound (JS heap + ArrayBuffers + external memory grown by more than `maxBytes` over the target's start; a full
 * GC runs every 25 runs, so the growth seen after a run is that run's allocations plus at most 25 runs of garbage).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A seeded generator (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x00, 0x20, 0x22, 0x5b, 0x7b, 0x5c];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffff, 46341, 65536 * 3];

/** A byte-level mutation of `src`: bit flips, interesting bytes/words, cuts, duplicated or deleted spans. */
export function mutateBytes(src: Uint8Array, rng: Rng): Uint8Array {
  let b = src.slice();
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const at = rng.int(Math.max(1, b.length));
    switch (rng.int(7)) {
      case 0:
        if (b.length) b[at] ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[at] = rng.pick(INTERESTING);
        break;
      case 2:
        if (b.length >= at + 4) new DataView(b.buffer).setUint32(at, rng.pick(INTERESTING32), rng.chance(0.5));
        break;
      case 3:
        b = b.subarray(0, at).slice();
        break;
      case 4: {
        const span = b.subarray(at, at + rng.int(64)); // duplicated in place
        const out = new Uint8Array(b.length + span.length);
        out.set(b.subarray(0, at));
        out.set(span, at);
        out.set(b.subarray(at), at + span.length);
        b = out;
        break;
      }
      case 5:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + rng.int(32))]);
        break;
      default:
        if (b.length) b[at] = rng.int(256);
    }
  }
  return b;
}

/** A text-level mutation: characters replaced, inserted or deleted, with JSON/markup-significant characters likely. */
export function mutateText(src: string, rng: Rng, alphabet = '[]{}":,\\0123456789-.eE abcxyz\u0000\u0001\ud800\u{1f600}\u9fff'): string {
  let s = src;
  const chars = [...alphabet];
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const at = rng.int(s.length + 1);
    const c = rng.pick(chars);
    switch (rng.int(4)) {
      case 0:
        s = s.slice(0, at) + c + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + c.repeat(1 + rng.int(rng.chance(0.1) ? 5000 : 4)) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(16));
        break;
      default:
        s = s.slice(0, at) + s.slice(rng.int(s.length), rng.int(s.length)) + s.slice(at);
    }
  }
  return s;
}

export interface FuzzTarget<I = unknown> {
  name: string;
  /** Builds the seed corpus and fixtures once (files, models). */
  setup?(): Promise<void>;
  /** A fresh input (usually a mutated seed, sometimes a crafted one). */
  input(rng: Rng): I;
  /** Feeds the input to the code under test; throws what the code throws. */
  run(input: I): unknown;
  /** A short description of an input, for reports. */
  describe?(input: I): string;
  /** Per-run time beyond which a run counts as a hang (default FuzzOptions.hangMs). */
  hangMs?: number;
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many runs or this many milliseconds, whichever comes first. */
  iterations: number;
  timeMs: number;
  hangMs: number;
  maxBytes: number;
}

export interface Finding {
  kind: 'untyped' | 'hang' | 'alloc';
  iteration: number;
  detail: string;
  input: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  iterations: number;
  accepted: number;
  typed: number;
  /** Typed errors by name. */
  typedNames: Record<string, number>;
  untyped: number;
  hangs: number;
  overBound: number;
  /** Largest growth of heap + ArrayBuffers + external over the start, and the largest RSS seen, in bytes. */
  peakGrowth: number;
  peakRss: number;
  slowestMs: number;
  seconds: number;
  findings: Finding[];
}

const UNTYPED_NAMES = new Set(['Error', 'RangeError', 'TypeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError', 'InternalError']);

/** Whether `e` is a typed error: an Error subclass with its own name (ImageDecodeError, SafetensorsError, ...). */
export function isTyped(e: unknown): boolean {
  return e instanceof Error && e.constructor !== Error && !UNTYPED_NAMES.has(e.name) && !UNTYPED_NAMES.has(e.constructor.name);
}

const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers + m.external;
};

/** Runs one target under `o`; never throws for what the target throws. */
export async function fuzz<I>(t: FuzzTarget<I>, o: FuzzOptions): Promise<FuzzReport> {
  await t.setup?.();
  const rng = new Rng(o.seed);
  const r: FuzzReport = { target: t.name, seed: o.seed, iterations: 0, accepted: 0, typed: 0, typedNames: {}, untyped: 0, hangs: 0, overBound: 0, peakGrowth: 0, peakRss: 0, slowestMs: 0, seconds: 0, findings: [] };
  const t0 = performance.now();
  gc();
  const base = used();
  const describe = (input: I) => (t.describe ? t.describe(input) : String(input)).slice(0, 300);
  while (r.iterations < o.iterations && performance.now() - t0 < o.timeMs) {
    const input = t.input(rng);
    const start = performance.now();
    try {
      await t.run(input);
      r.accepted++;
    } catch (e) {
      if (isTyped(e)) {
        r.typed++;
        const name = (e as Error).name;
        r.typedNames[name] = (r.typedNames[name] ?? 0) + 1;
      } else {
        r.untyped++;
        if (r.findings.length < 20) r.findings.push({ kind: 'untyped', iteration: r.iterations, detail: e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}\n${e.stack?.split('\n').slice(1, 5).join('\n')}` : String(e), input: describe(input) });
      }
    }
    const ms = performance.now() - start;
    r.slowestMs = Math.max(r.slowestMs, ms);
    if (ms > (t.hangMs ?? o.hangMs)) {
      r.hangs++;
      if (r.findings.length < 20) r.findings.push({ kind: 'hang', iteration: r.iterations, detail: `${ms.toFixed(0)} ms`, input: describe(input) });
    }
    const growth = used() - base;
    r.peakGrowth = Math.max(r.peakGrowth, growth);
    r.peakRss = Math.max(r.peakRss, process.memoryUsage().rss);
    if (growth > o.maxBytes) {
      r.overBound++;
      if (r.findings.length < 20) r.findings.push({ kind: 'alloc', iteration: r.iterations, detail: `${(growth / 2 ** 20).toFixed(0)} MiB over the start`, input: describe(input) });
    }
    r.iterations++;
    if (r.iterations % 25 === 0 || growth > o.maxBytes / 2) gc();
  }
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}
