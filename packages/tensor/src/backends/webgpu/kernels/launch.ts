/**
 * One-thread-per-item kernels without boilerplate: `launch()` declares the views (`in0..`, `out0..`, offsets
 * `b0..` in view order), the uniforms (`n` = item count at word 0, then what `body` appends) and the prelude,
 * and runs `body` for each item index `idx < n` (or one workgroup per item with `perGroup`).
 */
import type { View } from '../../../backend.ts';
import { bufOf, rt } from '../backend.ts';
import { PRELUDE, Uniforms, enables, grid, linearIndex, uniformDecl, uw, viewDecls } from '../codegen.ts';

export interface LaunchOptions {
  /** Workgroup size (64). */
  wg?: number;
  /** One workgroup per item (threads `li` of the group cooperate) instead of one thread per item. */
  perGroup?: boolean;
  /** Extra module-scope declarations (workgroup arrays, helper functions). */
  decl?: string;
}

export function launch(inputs: View[], outputs: View[], n: number, body: (u: Uniforms) => string, opts: LaunchOptions = {}): void {
  if (n <= 0) return;
  const wg = opts.wg ?? 64;
  const u = new Uniforms().i(n);
  const v = viewDecls(inputs, outputs, u);
  const b = body(u);
  const head = opts.perGroup
    ? `let idx = wid.y * nwg.x + wid.x;\n  if (idx >= u32(${uw(0)})) { return; }`
    : `${linearIndex(wg)}\n  if (idx >= u32(${uw(0)})) { return; }`;
  const code = `${enables([...inputs, ...outputs].map((x) => x.dtype))}${PRELUDE}
${v.decl}
${uniformDecl(u, v.binding)}
${opts.decl ?? ''}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${head}
  ${v.lets}
  ${b}
}`;
  const r = rt();
  const g: [number, number] = opts.perGroup ? (n <= 65535 ? [n, 1] : [65535, Math.ceil(n / 65535)]) : grid(n, wg);
  r.dispatch(r.pipeline(code, () => code), [...inputs, ...outputs].map(bufOf), u.data(), g);
}

/** WGSL for a workgroup sum of `f32` values into `red[0]` (needs `var<workgroup> red: array<f32, WG>`). */
export function groupSum(v: string, wg: number, out: string): string {
  return `red[li] = ${v};
  for (var w = ${wg / 2}u; w > 0u; w = w / 2u) { workgroupBarrier(); if (li < w) { red[li] = red[li] + red[li + w]; } }
  workgroupBarrier();
  let ${out} = red[0];
  workgroupBarrier();`;
}
