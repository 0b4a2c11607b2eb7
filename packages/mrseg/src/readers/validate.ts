/** Small field validators that throw AnnotationFormatError with the field path. */
import { AnnotationFormatError } from './errors.ts';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new AnnotationFormatError(path, `expected an object, got ${kind(v)}`);
  return v;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new AnnotationFormatError(path, `expected an array, got ${kind(v)}`);
  return v;
}

export function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AnnotationFormatError(path, `expected a number, got ${kind(v)}`);
  return v;
}

export function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new AnnotationFormatError(path, `expected an integer, got ${kind(v)}`);
  return v;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new AnnotationFormatError(path, `expected a string, got ${kind(v)}`);
  return v;
}

export function optArr(v: unknown, path: string): unknown[] {
  return v === undefined || v === null ? [] : arr(v, path);
}

export function intList(v: unknown, path: string): number[] {
  return optArr(v, path).map((x, i) => int(x, `${path}[${i}]`));
}

export function strList(v: unknown, path: string): string[] {
  return optArr(v, path).map((x, i) => str(x, `${path}[${i}]`));
}

/** [x, y, w, h] with finite numbers and non-negative w, h. */
export function bbox(v: unknown, path: string): [number, number, number, number] {
  const a = arr(v, path);
  if (a.length !== 4) throw new AnnotationFormatError(path, `expected 4 numbers [x, y, w, h], got ${a.length}`);
  const b = a.map((x, i) => num(x, `${path}[${i}]`)) as [number, number, number, number];
  if (b[2] < 0 || b[3] < 0) throw new AnnotationFormatError(path, `negative box size ${JSON.stringify(b)}`);
  return b;
}

export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Parses JSON text (string or bytes), turning syntax errors into AnnotationFormatError. */
export function parseJson(text: string | Uint8Array, what = 'JSON'): unknown {
  const s = typeof text === 'string' ? text : new TextDecoder().decode(text);
  try {
    return JSON.parse(s) as unknown;
  } catch (e) {
    throw new AnnotationFormatError('', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}
