/**
 * WebGPU kernel `fused` (ops/fused/fused.ts): one map kernel evaluating a traced elementwise chain in f32. Each step
 * becomes a block binding `x` (or `a`, `b`) and `p`, `q` before the table row's WGSL expression, so the rows are used
 * verbatim; number constants and parameters are uniforms, so the pipeline depends only on the chain's ops, dtypes
 * and layout (contiguous operands take mapKernel's vec4 path).
 */
import { registerKernel } from '../../../kernels.ts';
import type { FusedRef, FusedStep } from '../../../ops/fused/fused.ts';
import { BINARY, UNARY } from '../../../ops/elementwise/table.ts';
import { loadAs, storeFrom, uwf, type Uniforms } from '../codegen.ts';
import { F32_BINARY, mapKernel, nanSafe } from './elementwise.ts';

registerKernel('webgpu', 'fused', (inputs, [y], attrs) => {
  const program = attrs.program as FusedStep[];
  const k = inputs.length;
  mapKernel(inputs, y, (u: Uniforms) => {
    const lines = inputs.map((v, j) => `let i${j} = ${loadAs(`x${j}[o${j}]`, v.dtype, 'f32')};`);
    const ref = (r: FusedRef): string => {
      if ('input' in r) return `i${r.input}`;
      if ('step' in r) return `t${r.step}`;
      const at = u.index;
      u.f(r.value);
      return uwf(at);
    };
    program.forEach((s, i) => {
      if ('unary' in s) {
        const x = ref(s.x);
        const at = u.index;
        u.f(s.p, s.q);
        lines.push(`var t${i}: f32; { let x = ${x}; let p = ${uwf(at)}; let q = ${uwf(at + 1)}; t${i} = (${nanSafe(UNARY[s.unary].wgsl)}); }`);
      } else {
        const [a, b] = [ref(s.a), ref(s.b)];
        lines.push(`var t${i}: f32; { let a = ${a}; let b = ${b}; t${i} = (${nanSafe(F32_BINARY[s.binary] ?? BINARY[s.binary].wgsl)}); }`);
      }
    });
    lines.push(`y[o${k}] = ${storeFrom(`t${program.length - 1}`, 'f32', y.dtype)};`);
    return lines.join('\n    ');
  });
});
