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
import type { Coalesced } from '../codegen.ts';
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
export const nanSafe = (e: string) => e.replace(/\b(\w+) != \1\b/g, 'isnan_f($1)');
/** f32 forms that differ from the table's `wgsl` to match the CPU on NaN (WGSL max/min need not propagate it). */
export const F32_BINARY: Partial<Record<BinaryName, string>> = {
  maximum: 'select(max(a, b), a + b, isnan_f(a) || isnan_f(b))',
  minimum: 'select(min(a, b), a + b, isnan_f(a) || isnan_f(b))',
};

/** Pipelines per runtime by a short key (statement, dtypes, layout): repeat calls skip generating the shader. */
const pipelines = new WeakMap<object, Map<string, GPUComputePipeline>>();

function pipelineFor(main: string, dtypes: DType[]): GPUComputePipeline {
  const code = `${enables(dtypes)}${preludeFor(main)}${main}`;
  return rt().pipeline(code, () => code);
}

/** Testing hook: turn the vec4 path off (null restores the default, on). */
let vec4Enabled = true;
export function setElementwiseVec4ForTesting(on: boolean | null): void {
  vec4Enabled = on ?? true;
}

/**
 * Whether a coalesced iteration space can run 4 elements per thread with vec4 loads/stores: rank 1 (or 0), the
 * count divisible by 4, the output and every non-broadcast input unit-stride at an offset divisible by 4 (inputs
 * broadcast with stride 0 are read as scalars).
 */
function vec4Ok(c: Coalesced, n: number, k: number): boolean {
  if (!vec4Enabled || n % 4 !== 0 || c.shape.length !== 1) return false;
  return c.strides.every((st, j) => (st[0] === 1 && c.offsets[j] % 4 === 0) || (j < k && st[0] === 0));
}

/**
 * Records a map kernel over same-shaped views: `body(u)` returns the WGSL statement(s) assigning the output element
 * `y[o{k}]` from inputs read as `x{j}[o{j}]` (it may append uniforms to `u`). Contiguous operands whose count is
 * divisible by 4 take the vec4 path: each thread loads vec4s, runs the statement once per lane (the element reads
 * and the output assignment rewritten to the lanes) and stores one vec4.
 */
export function mapKernel(inputs: View[], out: View, body: (u: Uniforms) => string): void {
  const n = out.shape.reduce((a, d) => a * d, 1);
  if (n === 0) return;
  const views = [...inputs, out];
  const c = coalesce(out.shape, views);
  const k = inputs.length;
  const vec = vec4Ok(c, n, k);
  const r = rt();
  r.variant(vec ? 'elementwise:vec4' : 'elementwise:scalar');
  // Uniforms: n, then (vec4) the view offsets or (scalar) the strided metadata, then what `body` appends. The shader
  // depends only on the statement, the dtypes and the layout pattern: look the pipeline up by that short key.
  const u = new Uniforms().i(vec ? n / 4 : n);
  const ob = u.index;
  let offs = '';
  if (vec) u.i(...c.offsets.map((o, j) => (c.strides[j][0] === 1 ? o / 4 : o)));
  else offs = stridedOffsets(c, u);
  const stmt = body(u);
  let key = `${vec ? 'v' : 's'}${u.vec4s}|${stmt}`;
  for (const v of views) key += `|${v.dtype}`;
  if (vec) for (const st of c.strides) key += st[0];
  else key += `|${offs}`;
  let m = pipelines.get(r);
  if (!m) pipelines.set(r, (m = new Map<string, GPUComputePipeline>()));
  let pipe = m.get(key);
  if (!pipe) {
    pipe = pipelineFor(mapShader(inputs, out, c, vec, u, ob, offs, stmt), views.map((v) => v.dtype));
    m.set(key, pipe);
  }
  r.dispatch(pipe, [...inputs.map(bufOf), bufOf(out)], u.data(), grid(vec ? n / 4 : n, WG));
}

/** The WGSL of a map kernel (see mapKernel). */
function mapShader(inputs: View[], out: View, c: Coalesced, vec: boolean, u: Uniforms, ob: number, offs: string, stmt: string): string {
  const k = inputs.length;
  const elem = (j: number, t: string) => (vec && (j === k || c.strides[j][0] === 1) ? `vec4<${t}>` : t);
  const decls = inputs.map((v, j) => `@group(0) @binding(${j}) var<storage, read> x${j}: array<${elem(j, storageType(v.dtype))}>;`);
  decls.push(`@group(0) @binding(${k}) var<storage, read_write> y: array<${elem(k, storageType(out.dtype))}>;`);
  let inner: string;
  if (vec) {
    const loads = inputs.map((_, j) => (c.strides[j][0] === 1 ? `let v${j} = x${j}[${uw(ob + j)} + i4];` : `let o${j} = ${uw(ob + j)};`));
    const lanes = [0, 1, 2, 3].map((l) => {
      let s = stmt.replace(new RegExp(`\\by\\[o${k}\\] = `, 'g'), `r[${l}] = `);
      for (let j = 0; j < k; j++) if (c.strides[j][0] === 1) s = s.split(`x${j}[o${j}]`).join(`v${j}[${l}]`);
      return `{ ${s} }`;
    });
    inner = `let i4 = i32(idx);
    ${loads.join(' ')}
    var r: vec4<${storageType(out.dtype)}>;
    ${lanes.join('\n    ')}
    y[${uw(ob + k)} + i4] = r;`;
  } else {
    inner = `${offs}\n    ${stmt}`;
  }
  return `${decls.join('\n')}
${uniformDecl(u, k + 1)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    ${linearIndex(WG)}
    if (idx >= u32(${uw(0)})) { return; }
    ${inner}
}`;
}

/** Copies `x` into the same-shaped view `y`, converting the dtype (torch's cast rules). */
export function copyConvert(x: View, y: View): void {
  mapKernel([x], y, () => `y[o1] = ${convert('x0[o0]', x.dtype, y.dtype)};`);
}

registerKernel('webgpu', 'copy', ([x], [y]) => copyConvert(x, y));

for (const [name, row] of Object.entries(UNARY) as [UnaryName, (typeof UNARY)[UnaryName]][]) {
  registerKernel('webgpu', `unary:${name}`, ([x], [y], attrs) => {
    const p = (attrs.p) ?? 0;
    const q = (attrs.q) ?? 0;
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
