/**
 * A tiny WebAssembly binary writer: one module with an imported memory (shared or not), functions and exports.
 * Function bodies are byte arrays built with the instruction helpers in ./code.ts. Only what the kernels need:
 * no tables, globals, data segments or start function.
 */
import type { Code } from './code.ts';

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
const TYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A function under construction: parameters, extra locals (by type) and its body. */
export interface FuncDef {
  name: string;
  params: ValType[];
  result?: ValType;
  locals: ValType[];
  body: Code;
  /** Exported under its name (default true). */
  exported?: boolean;
}

/** Allocates named locals for a function: params first, then extra locals in declaration order. */
export class Locals {
  readonly types: ValType[] = [];
  readonly #params: number;
  constructor(params: ValType[]) {
    this.#params = params.length;
  }
  /** A fresh local of type t (its index). */
  add(t: ValType): number {
    this.types.push(t);
    return this.#params + this.types.length - 1;
  }
  i32(): number {
    return this.add('i32');
  }
  f32(): number {
    return this.add('f32');
  }
  v128(): number {
    return this.add('v128');
  }
}

export interface MemoryImport {
  initialPages: number;
  maximumPages: number;
  shared: boolean;
}

/** Encodes the module: imports env.memory, defines `funcs` (callable by index in declaration order). */
export function encodeModule(mem: MemoryImport, funcs: FuncDef[]): Uint8Array<ArrayBuffer> {
  const sigs: string[] = [];
  const sigBytes: number[][] = [];
  const typeIdx = funcs.map((f) => {
    const key = `${f.params.join(',')}->${f.result ?? ''}`;
    let i = sigs.indexOf(key);
    if (i < 0) {
      i = sigs.length;
      sigs.push(key);
      sigBytes.push([0x60, ...vec(f.params.map((p) => [TYPE[p]])), ...vec(f.result ? [[TYPE[f.result]]] : [])]);
    }
    return i;
  });
  const limits = [mem.shared ? 0x03 : 0x01, ...uleb(mem.initialPages), ...uleb(mem.maximumPages)];
  const imports = vec([[...str('env'), ...str('memory'), 0x02, ...limits]]);
  const exports = funcs.flatMap((f, i) => (f.exported === false ? [] : [[...str(f.name), 0x00, ...uleb(i)]]));
  const bodies = funcs.map((f) => {
    // Run-length encode the locals by type.
    const groups: number[][] = [];
    for (let i = 0; i < f.locals.length; ) {
      let j = i;
      while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
      groups.push([...uleb(j - i), TYPE[f.locals[i]]]);
      i = j;
    }
    const b = [...vec(groups), ...f.body, 0x0b];
    return [...uleb(b.length), ...b];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(sigBytes)),
    ...section(2, imports),
    ...section(3, vec(typeIdx.map((t) => uleb(t)))),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ];
  return new Uint8Array(bytes);
}
