/**
 * WGSL code generation shared by the kernels: how each dtype is stored, loads/stores with casts, strided index
 * arithmetic (dims coalesced, shader specialised on rank), uniform packing and the shared prelude.
 *
 * Storage formats on the GPU (one element per array slot, never packed, so any thread can write any element):
 *   float32 -> f32; float16 -> f16 (needs `shader-f16`); bfloat16 -> f32 holding a bf16-exact value (converted at
 *   upload/download, rounded to nearest even on every store); int32 -> i32; uint8 and bool -> u32 (0..255 / 0..1).
 *   float64 is not supported on WebGPU.
 */
import type { View } from '../../backend.ts';
import type { DType } from '../../dtype.ts';

export type WType = 'f32' | 'f16' | 'i32' | 'u32';

export function storageType(d: DType): WType {
  switch (d) {
    case 'float32':
    case 'bfloat16':
      return 'f32';
    case 'float16':
      return 'f16';
    case 'int32':
      return 'i32';
    case 'uint8':
    case 'bool':
      return 'u32';
    case 'float64':
      throw new Error('float64 has no WebGPU storage format');
  }
}

export const isFloatD = (d: DType): boolean => d === 'float32' || d === 'float16' || d === 'bfloat16';

/** WGSL converting `e` (a value as stored for `from`) to the stored form of `to`, with torch's cast rules. */
export function convert(e: string, from: DType, to: DType): string {
  const ft = storageType(from);
  if (from === to || (ft === storageType(to) && to !== 'bool' && to !== 'uint8' && to !== 'bfloat16')) return e;
  switch (to) {
    case 'float32':
      return `f32(${e})`;
    case 'bfloat16':
      return `bf16r(f32(${e}))`;
    case 'float16':
      return `f16(${e})`;
    case 'int32':
      return ft === 'u32' ? `i32(${e})` : `i32(${e})`;
    case 'uint8':
      if (from === 'bool') return e;
      return ft === 'u32' ? `(${e} & 255u)` : ft === 'i32' ? `(u32(${e}) & 255u)` : `(u32(i32(${e})) & 255u)`;
    case 'bool':
      return `select(0u, 1u, ${e} != ${ft}(0))`;
    default:
      throw new Error(`cannot convert to ${to}`);
  }
}

/** Value of compute type `ct` ('f32' or 'i32') -> stored form of `to`. */
export function storeFrom(e: string, ct: 'f32' | 'i32', to: DType): string {
  return convert(e, ct === 'f32' ? 'float32' : 'int32', to);
}

/** Stored form of `from` -> compute type `ct`. */
export function loadAs(e: string, from: DType, ct: 'f32' | 'i32'): string {
  return convert(e, from, ct === 'f32' ? 'float32' : 'int32');
}

export const PRELUDE = /* wgsl */ `
fn bf16r(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  if ((b & 0x7f800000u) == 0x7f800000u) {
    if ((b & 0x7fffffu) != 0u) { return bitcast<f32>((b | 0x400000u) & 0xffff0000u); }
    return v;
  }
  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
}
// var (not let/const): constant evaluation rejects non-finite values.
// NaN tests by bits: v != v may be folded away by the shader compiler.
fn isnan_f(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn f_inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn f_nan() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let x2 = x * x;
    // Maclaurin series (relative error < 1e-7 on |x| < 0.5)
    return 1.1283791670955126 * x * (1.0 + x2 * (-0.3333333333333333 + x2 * (0.1 + x2 * (-0.023809523809523808 + x2 * (0.004629629629629629 + x2 * (-0.0007575757575757576))))));
  }
  if (a > 6.0) { return sign(x); }
  // erfc by W. J. Cody's rational approximation via the Numerical Recipes erfcc form (|rel err| < 1.2e-7).
  let t = 1.0 / (1.0 + 0.5 * a);
  let r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return sign(x) * (1.0 - r);
}
fn pow_any(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnan_f(a) || isnan_f(b)) { return f_nan(); }
  if (a == 0.0) { return select(0.0, f_inf(), b < 0.0); }
  let m = abs(a);
  var r: f32;
  if (b == 1.0) { r = m; } else if (b == 2.0) { r = m * m; } else if (b == 3.0) { r = m * m * m; }
  else if (b == -1.0) { r = 1.0 / m; } else if (b == 0.5) { r = sqrt(m); } else { r = exp2(b * log2(m)); }
  if (a < 0.0) {
    if (floor(b) != b) { return f_nan(); }
    if (fract(b * 0.5) != 0.0) { r = -r; }
  }
  return r;
}
`;

/** The prelude's functions by name, and the names each one calls. */
const PRELUDE_FNS: { name: string; text: string; deps: string[] }[] = PRELUDE.split(/\n(?=fn |\/\/ )/)
  .map((chunk) => chunk.trim())
  .filter((chunk) => chunk.length > 0)
  .map((chunk) => {
    const name = /fn (\w+)/.exec(chunk)?.[1] ?? '';
    return { name, text: chunk, deps: [] as string[] };
  });
for (const f of PRELUDE_FNS) f.deps = PRELUDE_FNS.filter((g) => g !== f && new RegExp(`\\b${g.name}\\(`).test(f.text)).map((g) => g.name);

/** Just the prelude functions `code` calls (and their dependencies), so shaders stay small and compile fast. */
export function preludeFor(code: string): string {
  const need = new Set<string>();
  const add = (n: string) => {
    if (need.has(n)) return;
    need.add(n);
    for (const d of PRELUDE_FNS.find((f) => f.name === n)?.deps ?? []) add(d);
  };
  for (const f of PRELUDE_FNS) if (f.name && new RegExp(`\\b${f.name}\\(`).test(code)) add(f.name);
  return PRELUDE_FNS.filter((f) => need.has(f.name)).map((f) => f.text).join('\n') + '\n';
}

/** Header enabling f16 when any dtype is float16. */
export function enables(dtypes: readonly DType[]): string {
  return dtypes.includes('float16') ? 'enable f16;\n' : '';
}

/** A view's layout after merging dims that are contiguous in every view and dropping size-1 dims. */
export interface Coalesced {
  shape: number[];
  strides: number[][];
  offsets: number[];
}

/** Merges dims of same-shaped views where possible (so contiguous tensors become rank 1). */
export function coalesce(shape: readonly number[], views: readonly Pick<View, 'strides' | 'offset'>[]): Coalesced {
  const dims: number[] = [];
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) dims.push(d);
  const outShape: number[] = [];
  const outStrides: number[][] = views.map(() => []);
  for (const d of dims) {
    const last = outShape.length - 1;
    if (last >= 0 && views.every((v, j) => outStrides[j][last] === v.strides[d] * shape[d])) {
      outShape[last] *= shape[d];
      views.forEach((v, j) => (outStrides[j][last] = v.strides[d]));
    } else {
      outShape.push(shape[d]);
      views.forEach((v, j) => outStrides[j].push(v.strides[d]));
    }
  }
  return { shape: outShape, strides: outStrides, offsets: views.map((v) => v.offset) };
}

/** Packs i32 words (and f32 bit patterns) for a uniform block of `array<vec4<i32>, n>`. */
export class Uniforms {
  readonly words: number[] = [];
  i(...v: number[]): this {
    for (const x of v) this.words.push(x | 0);
    return this;
  }
  f(...v: number[]): this {
    const f = new Float32Array(v);
    for (const x of new Int32Array(f.buffer)) this.words.push(x);
    return this;
  }
  get index(): number {
    return this.words.length;
  }
  /** The block, padded to whole vec4s. */
  data(): Int32Array {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const a = new Int32Array(n);
    a.set(this.words);
    return a;
  }
  get vec4s(): number {
    return Math.max(1, Math.ceil(this.words.length / 4));
  }
}

/** WGSL reading uniform word `i` as i32 (the block is `u.m: array<vec4<i32>, N>`). */
export const uw = (i: number): string => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;
export const uwf = (i: number): string => `bitcast<f32>(${uw(i)})`;

/**
 * WGSL computing `o0..o{k-1}` (element offsets of k views) from the linear index `idx` of a coalesced iteration
 * space; the metadata (offsets, shape, strides) is appended to `u`.
 */
export function stridedOffsets(c: Coalesced, u: Uniforms, idx = 'idx', prefix = 'o'): string {
  const k = c.offsets.length;
  const lines: string[] = [];
  const offBase = u.index;
  u.i(...c.offsets);
  const shapeBase = u.index;
  u.i(...c.shape);
  const strideBase = u.index;
  for (let j = 0; j < k; j++) u.i(...c.strides[j]);
  const R = c.shape.length;
  for (let j = 0; j < k; j++) lines.push(`var ${prefix}${j} = ${uw(offBase + j)};`);
  if (R === 1) {
    for (let j = 0; j < k; j++) {
      lines.push(c.strides[j][0] === 1 ? `${prefix}${j} += i32(${idx});` : `${prefix}${j} += i32(${idx}) * ${uw(strideBase + j * R)};`);
    }
  } else if (R > 1) {
    lines.push(`var rem = i32(${idx});`);
    for (let d = R - 1; d >= 0; d--) {
      lines.push(d > 0 ? `{ let sd = ${uw(shapeBase + d)}; let c = rem % sd; rem = rem / sd;` : `{ let c = rem;`);
      for (let j = 0; j < k; j++) lines.push(`  ${prefix}${j} += c * ${uw(strideBase + j * R + d)};`);
      lines.push('}');
    }
  }
  return lines.join('\n    ');
}

/** A 2-D workgroup grid covering `n` threads at `wg` per group (x capped at 65535). */
export function grid(n: number, wg: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** WGSL for the linear thread index under `grid()` (needs @builtin(workgroup_id) wid, num_workgroups nwg, local_invocation_index li). */
export const linearIndex = (wg: number): string => `let idx = (wid.y * nwg.x + wid.x) * ${wg}u + li;`;

export function uniformDecl(u: Uniforms, binding: number): string {
  return `struct U { m: array<vec4<i32>, ${u.vec4s}> };\n@group(0) @binding(${binding}) var<uniform> u: U;\n`;
}

/**
 * Declarations for a kernel's views: inputs `in0..` (read), outputs `out0..` (read_write), and `let b{j}` = the
 * view's element offset from uniform words appended to `u` (inputs first, then outputs).
 */
export function viewDecls(inputs: readonly View[], outputs: readonly View[], u: Uniforms, atomic: readonly number[] = []): { decl: string; lets: string; binding: number } {
  const d: string[] = [];
  const l: string[] = [];
  const all = [...inputs, ...outputs];
  all.forEach((v, j) => {
    const name = j < inputs.length ? `in${j}` : `out${j - inputs.length}`;
    const t = j >= inputs.length && atomic.includes(j - inputs.length) ? 'atomic<u32>' : storageType(v.dtype);
    d.push(`@group(0) @binding(${j}) var<storage, ${j < inputs.length ? 'read' : 'read_write'}> ${name}: array<${t}>;`);
    l.push(`let b${j} = ${uw(u.index)};`);
    u.i(v.offset);
  });
  return { decl: d.join('\n'), lets: l.join(' '), binding: all.length };
}

/** `code` with the prelude functions it calls inserted after its `enable` directives. */
export function withPrelude(code: string): string {
  const m = /^(enable [^;]+;\s*)*/.exec(code);
  const head = m ? m[0] : '';
  return head + preludeFor(code) + code.slice(head.length);
}
