/**
 * WebGPU kernels `copy`, `unary:<name>`, `binary:<name>` and `where`, generated from the rows of
 * ops/elementwise/table.ts (their `wgsl` expressions, evaluated in f32). Every view may be strided; dims are
 * coalesced so contiguous operands index linearly. Integer operands of the ops in INT_UNARY / INT_BINARY are
 * computed exactly in i32 (other ops on integers go through f32, exact below 2^24).
 */
import type { View } from '../../../backend.ts';
import type { DType } from '../../../dtype.ts';
import { registerKernel } from '../../../kernels.ts';
import type { UnaryName, BinaryName } from '../../../ops/elementwise/table.ts';
import { BINARY, UNARY } from '../../../ops/elementwise/table.ts';
import { bufOf, rt } from '../backend.ts';
import { preludeFor, Uniforms, coalesce, convert, enables, grid, linearIndex, loadAs, storageType, storeFrom, stridedOffsets, uniformDecl, uwf, uw } from '../codegen.ts';

const WG = 64;

const INT_UNARY: Partial<Record<UnaryName, string>> = {
  neg: '-x', abs: 'abs(x)', sign: 'sign(x)', square: 'x * x', relu: 'max(x, 0)', floor: 'x', ceil: 'x', round: 'x', nan_to_num: 'x',
};
const INT_BINARY: Partial<Record<BinaryName, string>> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', maximum: 'max(a, b)', minimum: 'min(a, b)',
  eq: 'select(0, 1, a == b)', ne: 'select(0, 1, a != b)', lt: 'select(0, 1, a < b)', le: 'select(0, 1, a <= b)',
  gt: 'select(0, 1, a > b)', ge: 'select(0, 1, a >= b)',
};

const isIntD = (d: DType) => d === 'int32' || d === 'uint8' || d === 'bool';

/** A table expression made NaN-exact: `v != v` becomes a bit test (compilers may fold it away). */
const nanSafe = (e: string) => e.replace(/\b(\w+) != \1\b/g, 'isnan_f($1)');
/** f32 forms that differ from the table's `wgsl` to match the CPU on NaN (WGSL max/min need not propagate it). */
const F32_BINARY: Partial<Record<BinaryName, string>> = {
  maximum: 'select(max(a, b), a + b, isnan_f(a) || isnan_f(b))',
  minimum: 'select(min(a, b), a + b, isnan_f(a) || isnan_f(b))',
};

/**
 * Records a map kernel over same-shaped views: `body(loaded names)` returns the WGSL statement(s) assigning the
 * output element `y[o{k}]` from inputs read as `x{j}[o{j}]`. `extra(u)` may append uniforms and return declarations.
 */
export function mapKernel(inputs: View[], out: View, body: (u: Uniforms) => string): void {
  const views = [...inputs, out];
  const n = out.shape.reduce((a, d) => a * d, 1);
  if (n === 0) return;
  const c = coalesce(out.shape, views);
  const u = new Uniforms().i(n);
  const offs = stridedOffsets(c, u);
  const stmt = body(u);
  const k = inputs.length;
  const decls = inputs.map((v, j) => `@group(0) @binding(${j}) var<storage, read> x${j}: array<${storageType(v.dtype)}>;`);
  decls.push(`@group(0) @binding(${k}) var<storage, read_write> y: array<${storageType(out.dtype)}>;`);
  const main = `${decls.join('\n')}
${uniformDecl(u, k + 1)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    ${linearIndex(WG)}
    if (idx >= u32(${uw(0)})) { return; }
    ${offs}
    ${stmt}
}`;
  const code = `${enables(views.map((v) => v.dtype))}${preludeFor(main)}${main}`;
  const r = rt();
  r.dispatch(r.pipeline(code, () => code), [...inputs.map(bufOf), bufOf(out)], u.data(), grid(n, WG));
}

registerKernel('webgpu', 'copy', ([x], [y]) => {
  mapKernel([x], y, () => `y[o1] = ${convert('x0[o0]', x.dtype, y.dtype)};`);
});

for (const [name, row] of Object.entries(UNARY) as [UnaryName, (typeof UNARY)[UnaryName]][]) {
  registerKernel('webgpu', `unary:${name}`, ([x], [y], attrs) => {
    const p = (attrs.p as number | undefined) ?? 0;
    const q = (attrs.q as number | undefined) ?? 0;
    const intForm = INT_UNARY[name];
    mapKernel([x], y, (u) => {
      if (intForm && isIntD(x.dtype) && isIntD(y.dtype)) {
        return `let x = ${loadAs('x0[o0]', x.dtype, 'i32')};\n    y[o1] = ${storeFrom(`(${intForm})`, 'i32', y.dtype)};`;
      }
      const pi = u.index;
      u.f(p, q);
      return `let p = ${uwf(pi)}; let q = ${uwf(pi + 1)};
    let x = ${loadAs('x0[o0]', x.dtype, 'f32')};
    y[o1] = ${storeFrom(`(${nanSafe(row.wgsl)})`, 'f32', y.dtype)};`;
    });
  });
}

for (const [name, row] of Object.entries(BINARY) as [BinaryName, (typeof BINARY)[BinaryName]][]) {
  registerKernel('webgpu', `binary:${name}`, ([a, b], [y]) => {
    const intForm = INT_BINARY[name];
    const ct = intForm && isIntD(a.dtype) && isIntD(b.dtype) ? 'i32' : 'f32';
    const expr = ct === 'i32' ? intForm! : nanSafe(F32_BINARY[name] ?? row.wgsl);
    mapKernel([a, b], y, () => {
      const load = `let a = ${loadAs('x0[o0]', a.dtype, ct)}; let b = ${loadAs('x1[o1]', b.dtype, ct)};`;
      // Integer outputs of float math truncate toward zero, like the CPU kernel.
      const v = ct === 'f32' && isIntD(y.dtype) && y.dtype !== 'bool' ? `trunc(${expr})` : `(${expr})`;
      return `${load}\n    y[o2] = ${storeFrom(v, ct, y.dtype)};`;
    });
  });
}

registerKernel('webgpu', 'where', ([c, a, b], [y]) => {
  mapKernel([c, a, b], y, () => {
    const cond = `x0[o0] != ${storageType(c.dtype)}(0)`;
    return `y[o3] = ${convert(`select(x2[o2], x1[o1], ${cond})`, a.dtype, y.dtype)};`;
  });
});
