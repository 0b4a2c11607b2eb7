/**
 * One-thread-per-item kernels without boilerplate: `launch()` declares the views (`in0..`, `out0..`, offsets
 * `b0..` in view order), the uniforms (`n` = item count at word 0, then what `body` appends) and the prelude,
 * and runs `body` for each item index `idx < n` (or one workgroup per item with `perGroup`).
 */
import type { Backend, View } from '../../../backend.ts';
import { bufOf, rt } from '../backend.ts';
import { preludeFor, Uniforms, enables, grid, linearIndex, storageType, uniformDecl, uw, viewDecls } from '../codegen.ts';

export interface LaunchOptions {
  /** Workgroup size (64). */
  wg?: number;
  /** One workgroup per item (threads `li` of the group cooperate) instead of one thread per item. */
  perGroup?: boolean;
  /** Extra module-scope declarations (workgroup arrays, helper functions). */
  decl?: string;
  /** Use subgroup builtins (`enable subgroups;`, and `sgi` = subgroup_invocation_id, `sgs` = subgroup_size in main). */
  subgroups?: boolean;
  /** Output indices declared `array<atomic<u32>>` (float32 outputs accumulated with `atomicAdd_out{j}`). */
  atomic?: number[];
}

/** WGSL `fn atomicAdd_<name>(i, v)`: a float add on an `array<atomic<u32>>` by compare-and-swap. */
export function atomicAddFn(name: string): string {
  return `fn atomicAdd_${name}(i: i32, v: f32) {
  var old = atomicLoad(&${name}[i]);
  loop {
    let r = atomicCompareExchangeWeak(&${name}[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}`;
}

/** Sets every element of a contiguous view to zero. */
export function zeroFill(v: View): void {
  launch([], [v], v.shape.reduce((a, d) => a * d, 1), () => `out0[b0 + i32(idx)] = ${storageType(v.dtype)}(0);`);
}

/** A temporary int32 buffer holding `data` as a View (released once the dispatches recorded so far complete). */
export function withTempI32(data: Int32Array, f: (v: View) => void): void {
  const r = rt();
  const buf = r.acquire(Math.max(4, data.byteLength));
  r.write(buf, data);
  const storage = { backend: null as unknown as Backend, dtype: 'int32' as const, numel: data.length, handle: buf, refs: 1 };
  try {
    f({ storage, dtype: 'int32', shape: [data.length], strides: [1], offset: 0 });
  } finally {
    r.release(buf);
  }
}

/** A temporary float32 buffer of `n` elements as a View (released once the dispatches recorded so far complete). */
export function withTempF32(n: number, f: (v: View) => void): void {
  const r = rt();
  const buf = r.acquire(Math.max(4, n * 4));
  const storage = { backend: null as unknown as Backend, dtype: 'float32' as const, numel: n, handle: buf, refs: 1 };
  try {
    f({ storage, dtype: 'float32', shape: [n], strides: [1], offset: 0 });
  } finally {
    r.release(buf);
  }
}

export function launch(inputs: View[], outputs: View[], n: number, body: (u: Uniforms) => string, opts: LaunchOptions = {}): void {
  if (n <= 0) return;
  const wg = opts.wg ?? 64;
  const u = new Uniforms().i(n);
  const v = viewDecls(inputs, outputs, u, opts.atomic);
  const b = body(u);
  const head = opts.perGroup
    ? `let idx = wid.y * nwg.x + wid.x;\n  if (idx >= u32(${uw(0)})) { return; }`
    : `${linearIndex(wg)}\n  if (idx >= u32(${uw(0)})) { return; }`;
  const main = `${v.decl}
${uniformDecl(u, v.binding)}
${opts.decl ?? ''}
${(opts.atomic ?? []).map((j) => atomicAddFn(`out${j}`)).join('\n')}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32${opts.subgroups ? SG_BUILTINS : ''}) {
  ${head}
  ${v.lets}
  ${b}
}`;
  const code = `${opts.subgroups ? 'enable subgroups;\n' : ''}${enables([...inputs, ...outputs].map((x) => x.dtype))}${preludeFor(main)}${main}`;
  const r = rt();
  const g: [number, number] = opts.perGroup ? (n <= 65535 ? [n, 1] : [65535, Math.ceil(n / 65535)]) : grid(n, wg);
  r.dispatch(r.pipeline(code, () => code), [...inputs, ...outputs].map(bufOf), u.data(), g);
}

/** Extra parameters of `main` for subgroup kernels. */
export const SG_BUILTINS = ', @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32';

/**
 * WGSL `fn group_<op>(v, li, sgi, sgs) -> f32` for a workgroup of `wg` threads (op 'sum' or 'max'): the subgroup
 * combines with subgroupAdd/subgroupMax, each subgroup's first lane stores its result in `sgred[li / sgs]`, and every
 * thread then folds those (at most wg / 4) values in the same order. Assumes subgroups are consecutive runs of
 * local_invocation_index (true of the Vulkan, Metal and D3D12 compute implementations; ONNX Runtime relies on it too).
 */
export function groupFnSg(op: 'sum' | 'max', wg: number): string {
  const a = `sgred_${op}`;
  const sub = op === 'sum' ? 'subgroupAdd(v)' : 'select(subgroupMax(v), f_nan(), subgroupAny(isnan_f(v)))';
  // Sums fold the per-subgroup values pairwise (as the workgroup tree does; at most wg / 4 of them, WebGPU's
  // smallest subgroup being 4); maxima in order, NaN first.
  const P = Math.max(2, wg / 4);
  const fold =
    op === 'sum'
      ? `var p: array<f32, ${P}>;
  for (var i = 0u; i < ${P}u; i++) { p[i] = select(0.0, ${a}[min(i, nsg - 1u)], i < nsg); }
  for (var w = ${P / 2}u; w > 0u; w = w / 2u) { for (var i = 0u; i < w; i++) { p[i] = p[i] + p[i + w]; } }
  let t = p[0];`
      : `var t = ${a}[0];
  for (var i = 1u; i < nsg; i++) { if (isnan_f(${a}[i])) { t = ${a}[i]; break; } t = max(t, ${a}[i]); }`;
  return `var<workgroup> ${a}: array<f32, ${wg}>;
fn group_${op}(v: f32, li: u32, sgi: u32, sgs: u32) -> f32 {
  let s = ${sub};
  if (sgi == 0u) { ${a}[li / sgs] = s; }
  workgroupBarrier();
  let nsg = (${wg}u + sgs - 1u) / sgs;
  ${fold}
  workgroupBarrier();
  return t;
}`;
}

/**
 * WGSL for a workgroup sum of `f32` values (needs `var<workgroup> red: array<f32, WG>`, or with `subgroups` the
 * `groupFnSg('sum', WG)` declaration and launch's `subgroups` option).
 */
export function groupSum(v: string, wg: number, out: string, subgroups = false): string {
  if (subgroups) return `let ${out} = group_sum(${v}, li, sgi, sgs);`;
  return `red[li] = ${v};
  for (var w = ${wg / 2}u; w > 0u; w = w / 2u) { workgroupBarrier(); if (li < w) { red[li] = red[li] + red[li + w]; } }
  workgroupBarrier();
  let ${out} = red[0];
  workgroupBarrier();`;
}
