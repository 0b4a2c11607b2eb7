/**
 * WebGPU kernel `reduce` (attrs {op: sum|prod|max|min|argmax|argmin, dims}), matching the CPU kernel: one workgroup
 * per output element, threads stride over the reduced elements, then a tree reduction in workgroup memory. Floats
 * accumulate in f32 (the CPU uses f64), integers in i32. With subgroups (GpuRuntime.useSubgroups) each subgroup
 * combines first (subgroupAdd/Mul/Max/Min, argmax/argmin by value then smallest index) and thread 0 folds the
 * per-subgroup results; otherwise a tree in workgroup memory. max/min propagate NaN; argmax/argmin return the first
 * extremum in row-major order (a NaN counts as the extremum), as an index into the reduced dims.
 */
import { registerKernel } from '../../../kernels.ts';
import { bufOf, rt } from '../backend.ts';
import { SG_BUILTINS } from './launch.ts';
import { preludeFor, Uniforms, coalesce, enables, isFloatD, loadAs, storageType, storeFrom, uniformDecl, uw } from '../codegen.ts';

const WG = 64;

/** WGSL adding `off` (+=) the offset of flat index `idx` over a coalesced (shape, strides) from uniform words. */
function offsetCode(shape: number[], strides: number[], u: Uniforms, idx: string, off: string): string {
  const R = shape.length;
  if (R === 0) return '';
  const sb = u.index;
  u.i(...shape, ...strides);
  if (R === 1) return `${off} += ${idx} * ${uw(sb + 1)};`;
  const l = [`{ var rem = ${idx};`];
  for (let d = R - 1; d >= 0; d--) {
    l.push(d > 0 ? `{ let s = ${uw(sb + d)}; ${off} += (rem % s) * ${uw(sb + R + d)}; rem = rem / s; }` : `${off} += rem * ${uw(sb + R + d)};`);
  }
  l.push('}');
  return l.join(' ');
}

registerKernel('webgpu', 'reduce', ([x], [y], attrs) => {
  const op = attrs.op;
  const dims = attrs.dims as number[];
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const nOut = kept.reduce((a, d) => a * x.shape[d], 1);
  const nRed = dims.reduce((a, d) => a * x.shape[d], 1);
  if (nOut === 0) return;
  const ck = coalesce(kept.map((d) => x.shape[d]), [{ strides: kept.map((d) => x.strides[d]), offset: 0 }]);
  const cr = coalesce(dims.map((d) => x.shape[d]), [{ strides: dims.map((d) => x.strides[d]), offset: 0 }]);
  const u = new Uniforms().i(nOut, nRed, x.offset);
  const keptCode = offsetCode(ck.shape, ck.strides[0], u, 'i32(row)', 'base');
  const redCode = offsetCode(cr.shape, cr.strides[0], u, 'r', 'o');
  const ct = isFloatD(x.dtype) ? 'f32' : 'i32';
  const isArg = op === 'argmax' || op === 'argmin';
  const inf = ct === 'f32' ? 'f_inf()' : 'bitcast<i32>(0x7fffffffu)';
  const ninf = ct === 'f32' ? '-f_inf()' : 'bitcast<i32>(0x80000000u)';
  const init = { sum: `${ct}(0)`, prod: `${ct}(1)`, max: ninf, min: inf, argmax: ninf, argmin: inf }[op];
  const cmp = op === 'argmax' ? '>' : '<';
  const nan = (v: string) => (ct === 'f32' ? `isnan_f(${v})` : 'false');
  // combine(acc, bi) <- (v, vi)
  const combine = {
    sum: 'acc = acc + v;',
    prod: 'acc = acc * v;',
    max: `if (${nan('v')} || v > acc) { acc = v; }`,
    min: `if (${nan('v')} || v < acc) { acc = v; }`,
    argmax: '',
    argmin: '',
  }[op];
  const argCombine = `if (bi < 0 || (${nan('v')} && (!${nan('acc')} || vi < bi)) || (!${nan('acc')} && !${nan('v')} && (v ${cmp} acc || (v == acc && vi < bi)))) { acc = v; bi = vi; }`;
  const step = isArg ? argCombine : combine;
  const store = isArg ? storeFrom('sb[0]', 'i32', y.dtype) : storeFrom('sv[0]', ct, y.dtype);
  const sg = rt().useSubgroups;
  rt().variant(sg ? 'reduce:subgroup' : 'reduce:workgroup');
  const big = 'bitcast<i32>(0x7fffffffu)';
  // Within a subgroup: NaN wins max/min (WGSL's subgroupMax need not propagate it); argmax/argmin take the value,
  // then the smallest index holding it (a NaN, when any lane has one).
  const sgNan = ct === 'f32' ? 'subgroupAny(isnan_f(acc) && bi >= 0)' : 'false';
  const sgOp = op === 'argmax' || op === 'max' ? 'subgroupMax' : 'subgroupMin';
  const sgStep = {
    sum: 'acc = subgroupAdd(acc);',
    prod: 'acc = subgroupMul(acc);',
    max: ct === 'f32' ? 'acc = select(subgroupMax(acc), f_nan(), subgroupAny(isnan_f(acc)));' : 'acc = subgroupMax(acc);',
    min: ct === 'f32' ? 'acc = select(subgroupMin(acc), f_nan(), subgroupAny(isnan_f(acc)));' : 'acc = subgroupMin(acc);',
    argmax: '',
    argmin: '',
  }[op];
  const sgArg = `{
    let anyNan = ${sgNan.replace('&& bi >= 0', '&& bi >= 0')};
    let best = ${sgOp}(select(acc, ${init}, bi < 0${ct === 'f32' ? ' || isnan_f(acc)' : ''}));
    let cand = bi >= 0 && select(acc == best, ${ct === 'f32' ? 'isnan_f(acc)' : 'false'}, anyNan);
    let first = subgroupMin(select(${big}, bi, cand));
    bi = select(first, -1, first == ${big});
    acc = select(best, ${ct === 'f32' ? 'f_nan()' : 'best'}, anyNan);
  }`;
  // After the subgroups: sums and products fold the per-subgroup values pairwise (like the workgroup tree; at most
  // WG / 4 of them), the order-insensitive max/min/arg ops in sequence.
  const P = WG / 4;
  const pairOp = op === 'sum' ? '+' : '*';
  const fold =
    op === 'sum' || op === 'prod'
      ? `var p: array<${ct}, ${P}>;
    for (var i = 0u; i < ${P}u; i++) { p[i] = select(${init}, sv[min(i, nsg - 1u)], i < nsg); }
    for (var w = ${P / 2}u; w > 0u; w = w / 2u) { for (var i = 0u; i < w; i++) { p[i] = p[i] ${pairOp} p[i + w]; } }
    acc = p[0];`
      : `for (var t = 1u; t < nsg; t++) {
      let v = sv[t]; let vi = sb[t];
      ${isArg ? 'if (vi >= 0) { ' + argCombine + ' }' : step}
    }`;
  const tail = sg
    ? `${isArg ? sgArg : sgStep}
  if (sgi == 0u) { sv[li / sgs] = acc; sb[li / sgs] = bi; }
  workgroupBarrier();
  if (li == 0u) {
    let nsg = (${WG}u + sgs - 1u) / sgs;
    ${fold}
    y[row] = ${isArg ? storeFrom('bi', 'i32', y.dtype) : storeFrom('acc', ct, y.dtype)};
  }`
    : `sv[li] = acc;
  sb[li] = bi;
  for (var w = ${WG / 2}u; w > 0u; w = w / 2u) {
    workgroupBarrier();
    if (li < w) {
      acc = sv[li]; bi = sb[li];
      let v = sv[li + w]; let vi = sb[li + w];
      ${isArg ? 'if (vi >= 0) { ' + argCombine + ' }' : step}
      sv[li] = acc; sb[li] = bi;
    }
  }
  if (li == 0u) { y[row] = ${store}; }`;
  const main = `@group(0) @binding(0) var<storage, read> x: array<${storageType(x.dtype)}>;
@group(0) @binding(1) var<storage, read_write> y: array<${storageType(y.dtype)}>;
${uniformDecl(u, 2)}
var<workgroup> sv: array<${ct}, ${WG}>;
var<workgroup> sb: array<i32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32${sg ? SG_BUILTINS : ''}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u32(${uw(0)})) { return; }
  let nred = ${uw(1)};
  var base = ${uw(2)};
  ${keptCode}
  var acc: ${ct} = ${init};
  var bi: i32 = -1;
  for (var r = i32(li); r < nred; r += ${WG}) {
    var o = base;
    ${redCode}
    let v = ${loadAs('x[o]', x.dtype, ct)};
    let vi = r;
    ${step}
  }
  ${tail}
}`;
  const code = `${sg ? 'enable subgroups;\n' : ''}${enables([x.dtype, y.dtype])}${preludeFor(main)}${main}`;
  const r = rt();
  const g = nOut <= 65535 ? [nOut, 1] : [65535, Math.ceil(nOut / 65535)];
  r.dispatch(r.pipeline(code, () => code), [bufOf(x), bufOf(y)], u.data(), [g[0], g[1]]);
});
