/**
 * Assembles the kernel module: every generated function in one WebAssembly module importing `env.memory`.
 * `buildKernelModule` returns the bytes and the names of the exported functions (workers call them by index).
 */
import { encodeModule, type FuncDef, type MemoryImport } from '../emit/module.ts';
import { gemmDriver, macroKernel, microKernel, packA, packB } from './gemm.ts';
import { gemvKernels } from './gemv.ts';
import { rowKernels } from './rows.ts';
import { col2imKernel, im2colKernel } from './conv.ts';
import { roundKernels } from './round.ts';
import { sdpaBlockKernel } from './attention.ts';
import type { ElemType } from './elem.ts';

const TYPES: ElemType[] = ['f32', 'f16', 'bf16'];

export interface KernelModule {
  bytes: Uint8Array<ArrayBuffer>;
  exports: string[];
}

export function buildKernelModule(mem: MemoryImport, fma: boolean): KernelModule {
  const builders: ((fn: (n: string) => number) => FuncDef)[] = [
    () => microKernel(fma),
    (fn) => macroKernel(fn),
    ...TYPES.map((t) => () => packA(t)),
    ...TYPES.map((t) => () => packB(t)),
    ...TYPES.flatMap((ta) => TYPES.map((tb) => (fn: (n: string) => number) => gemmDriver(ta, tb, fn))),
    ...gemvKernels(fma),
    ...rowKernels(),
    () => im2colKernel(),
    () => col2imKernel(),
    ...roundKernels(),
    (fn) => sdpaBlockKernel(fn),
  ];
  // Names first (a dry run with a placeholder index), then the real build resolving calls by name.
  const names = builders.map((b) => b(() => 0).name);
  const fn = (n: string): number => {
    const i = names.indexOf(n);
    if (i < 0) throw new Error(`wasm kernel module: no function '${n}'`);
    return i;
  };
  const funcs = builders.map((b) => b(fn));
  return { bytes: encodeModule(mem, funcs), exports: funcs.filter((f) => f.exported !== false).map((f) => f.name) };
}
