import type { FuncDef } from '../emit/module.ts';

export function rowKernels(): (() => FuncDef)[] {
  return [];
}
