/**
 * Memory model: tensors hold their storage until `dispose()`. `tidy(fn)` disposes every tensor created inside
 * `fn` except those it returns (or `keep()`s); `using t = ...` disposes at scope exit. In debug mode a
 * FinalizationRegistry reports tensors that were garbage-collected without being disposed (it never frees them).
 */
import type { Tensor } from './tensor.ts';

interface Scope {
  tensors: Set<Tensor>;
}

const scopes: Scope[] = [];
const kept = new WeakSet<Tensor>();
let debug = false;
let liveCount = 0;
const leakLog: string[] = [];
const registry =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<string>((desc) => {
        leakLog.push(desc);
        if (debug) console.warn(`[segllm/tensor] leaked tensor (garbage-collected without dispose): ${desc}`);
      })
    : undefined;

let untrackedDepth = 0;

/** Runs `fn` with tensor creation invisible to tidy scopes (for autograd records' private references). */
export function untracked<T>(fn: () => T): T {
  untrackedDepth++;
  try {
    return fn();
  } finally {
    untrackedDepth--;
  }
}

export function trackCreated(t: Tensor): void {
  liveCount++;
  const top = scopes[scopes.length - 1];
  if (top && untrackedDepth === 0) top.tensors.add(t);
  if (debug && registry) registry.register(t, `#${t.id} [${t.shape.join(', ')}] ${t.dtype}${new Error().stack?.split('\n').slice(3, 6).join(' <')}`, t);
}

export function trackDisposed(t: Tensor): void {
  liveCount--;
  if (registry) registry.unregister(t);
  for (const s of scopes) s.tensors.delete(t);
}

/** Marks a tensor to survive the enclosing tidy scopes. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.tensors.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 6 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

function isTensor(v: object): v is Tensor {
  return 'storage' in v && 'strides' in v && typeof (v as { dispose?: unknown }).dispose === 'function';
}

/**
 * Runs `fn` and disposes every tensor it created except the tensors in its result (found in arrays, Maps and plain
 * objects) and kept ones. Returned tensors move to the enclosing scope. Not for async functions: await outside.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) throw new TypeError('tidy() does not accept async functions: await the readback outside tidy');
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope.tensors) {
    if (survivors.has(t) || kept.has(t)) {
      if (parent && !kept.has(t)) parent.tensors.add(t);
      continue;
    }
    t.dispose();
  }
  return result;
}

/** Enables leak reports (tensors garbage-collected without `dispose()`). */
export function setDebugMemory(on: boolean): void {
  debug = on;
}

/** Number of tensors created and not yet disposed (for leak tests). */
export function liveTensorCount(): number {
  return liveCount;
}

/** Descriptions of tensors reported as leaked so far (debug mode records where they were created). */
export function leakedTensors(): readonly string[] {
  return leakLog;
}
