/**
 * conv2d on CPU adapters with subgroups (lavapipe): the broadcast GEMM of ./matmul-bcast.ts as an implicit GEMM per
 * (image n, group g): Y[n, g*Og + o, p] = sum_k W[g*Og + o, k] . Xcol[n, k, p] (+ bias[g*Og + o]) with k = (c, ky, kx)
 * over the group's Cg input channels. A = the weight rows [Og, Cg*KH*KW] (contiguous), B = x read through im2col
 * addressing (zero outside the image, i.e. in the padding), the bias added at the store. The geometry is baked into
 * the shader as constants, so the k -> (c, ky, kx) divisions are by constants.
 */
import type { ConvAttrs } from '../../../kernels.ts';
import type { View } from '../../../backend.ts';
import { bufOf, rt } from '../backend.ts';
import { Uniforms, enables, loadAs, storageType, storeFrom, uniformDecl, uw, withPrelude } from '../codegen.ts';
import { bcastGemm, bcastTile } from './matmul-bcast.ts';

/** Rows of the output (channels) per subgroup when a group has more than the matmul tier's TM. */
export const CONV_BCAST = { TM: 16 };

/** Records the conv2d dispatch and returns true, or false when the tier does not apply (then use the generic kernel). */
export function convBcast(x: View, wt: View, bias: View | undefined, y: View, a: ConvAttrs): boolean {
  const tile = bcastTile();
  const [NB, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = wt.shape;
  const [, , Ho, Wo] = y.shape;
  const G = a.groups;
  if (!tile || NB * G > 65535) return false;
  const [SH, SW] = a.stride as number[];
  const [PH, PW] = a.padding as number[];
  const [DH, DW] = a.dilation as number[];
  const Og = O / G;
  const K = Cg * KH * KW;
  const P = Ho * Wo;
  if (Og === 0 || P === 0 || NB === 0) return true;
  rt().variant('conv2d:bcast');
  // The im2col loads cost several instructions each, so more rows share them than in matmul (measured on lavapipe).
  const tl = { ...tile, TM: Og > tile.TM ? CONV_BCAST.TM : tile.TM };
  const u = new Uniforms().i(wt.offset, x.offset, y.offset, bias ? bias.offset : 0);
  const head = `${enables(bias ? [x.dtype, wt.dtype, y.dtype, bias.dtype] : [x.dtype, wt.dtype, y.dtype])}
@group(0) @binding(0) var<storage, read> A: array<${storageType(wt.dtype)}>;
@group(0) @binding(1) var<storage, read> B: array<${storageType(x.dtype)}>;
@group(0) @binding(2) var<storage, read_write> Y: array<${storageType(y.dtype)}>;
${bias ? `@group(0) @binding(3) var<storage, read> BIAS: array<${storageType(bias.dtype)}>;\n` : ''}${uniformDecl(u, bias ? 4 : 3)}`;
  const prologue = `let M = ${Og}; let K = ${K}; let N = ${P}; let LDY = ${P}; let sam = ${K}; let sak = 1; let sbk = 0; let sbn = 0;
  let k0 = 0; let k1 = ${K};
  let img = i32(wid.z) / ${G}; let grp = i32(wid.z) % ${G};
  let oa = ${uw(0)} + grp * ${Og * K}; let ob = 0; let oy = ${uw(2)} + (img * ${O} + grp * ${Og}) * ${P};
  let xb = ${uw(1)} + (img * ${C} + grp * ${Cg}) * ${H * W};`;
  const J = Array.from({ length: tl.TN }, (_, j) => j);
  // per column j: the top-left input position of output pixel n0 + j (clamped) and its offset in x
  const cols = J.map(
    (j) => `let p${j} = min(n0 + ${j}, ${P - 1}); let ih${j} = (p${j} / ${Wo}) * ${SH} - ${PH}; let iw${j} = (p${j} % ${Wo}) * ${SW} - ${PW}; let xo${j} = xb + ih${j} * ${W} + iw${j};`,
  ).join('\n  ');
  const lx = (e: string) => loadAs(e, x.dtype, 'f32');
  const kDecl = (k: string, t: string) =>
    `let kk${t} = ${k}; let r${t} = kk${t} % ${KH * KW}; let dy${t} = (r${t} / ${KW}) * ${DH}; let dx${t} = (r${t} % ${KW}) * ${DW}; ` +
    `let ko${t} = (kk${t} / ${KH * KW}) * ${H * W} + dy${t} * ${W} + dx${t}; ` +
    J.map((j) => `let bv${t}_${j} = select(0.0, ${lx(`B[xo${j} + ko${t}]`)}, u32(ih${j} + dy${t}) < ${H}u && u32(iw${j} + dx${t}) < ${W}u);`).join(' ');
  const bv = bias ? (row: string) => ` + ${loadAs(`BIAS[${uw(3)} + grp * ${Og} + ${row}]`, bias.dtype, 'f32')}` : () => '';
  const store = (row: string, col: string, v: string) => `Y[oy + (${row}) * ${P} + ${col}] = ${storeFrom(`${v}${bv(row)}`, 'f32', y.dtype)};`;
  const { code, groups } = bcastGemm(head, prologue, tl, Og, P, NB * G, false, 'scalar', store, { cols, k: kDecl, b: (t, j) => `bv${t}_${j}` });
  const r = rt();
  const full = withPrelude(code);
  r.dispatch(r.pipeline(full, () => full), bias ? [bufOf(wt), bufOf(x), bufOf(y), bufOf(bias)] : [bufOf(wt), bufOf(x), bufOf(y)], u.data(), groups);
  return true;
}
