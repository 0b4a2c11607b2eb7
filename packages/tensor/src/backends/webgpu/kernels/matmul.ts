/**
 * WebGPU kernel `matmul`: A [..., M, K] . B [..., K, N] -> Y [..., M, N] (contiguous), batch dims already broadcast
 * (stride 0 allowed), any strides, float32/bfloat16/float16 with f32 accumulation. Kernel `matmul_bias_act`
 * (ops/matmul/linear.ts) runs the same tiers with a fused bias/activation epilogue in the stores.
 *
 * A product first tries the float16 subgroup-matrix tier (./sgmatrix.ts, devices with
 * chromium-experimental-subgroup-matrix); otherwise `chooseTier` (./matmul-tier.ts, the one place that decides)
 * picks one of: GEMV for M <= 4 (./matmul-gemv.ts), the broadcast GEMM on CPU adapters with subgroups
 * (./matmul-bcast.ts), the shared-memory tiled GEMM on GPU adapters (./matmul-smem.ts), or the register-tiled GEMM
 * (./matmul-reg.ts). Short deep products then run split-K over that tier (./matmul-splitk.ts). This file binds the
 * operands and uniforms every tier shares (`encodeOne`) and handles a weight split across buffers (lm_head).
 */
import type { View } from '../../../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { UnsupportedError } from '../../../backend.ts';
import { bufOf, chunkView, chunksOf, rt } from '../backend.ts';
import { withTempF32 } from './launch.ts';
import { trySubgroupMatrixGemm } from './sgmatrix.ts';
import { bcastGemm } from './matmul-bcast.ts';
import { smemGemm } from './matmul-smem.ts';
import { gemvShader } from './matmul-gemv.ts';
import { regShader, type GemmShader } from './matmul-reg.ts';
import { splitPlan, sumPartials, type SplitPlan } from './matmul-splitk.ts';
import { chooseTier, kExtent, vecA, vecB, type Tier } from './matmul-tier.ts';
import { Uniforms, coalesce, enables, loadAs, storageType, storeFrom, uniformDecl, uw } from '../codegen.ts';
import { withPrelude } from '../codegen.ts';
import { UNARY } from '../../../ops/elementwise/table.ts';

export { SPLIT_K } from './matmul-splitk.ts';

/**
 * The fused epilogue of `matmul_bias_act` (ops/matmul/linear.ts): `act` is the activation's WGSL expression of `x`
 * (null: none), `bias` an optional [N] view; applied to each accumulated f32 output before its one rounding.
 */
interface Epilogue {
  act: string | null;
  bias: View | null;
}

/** WGSL `fn epi(v, n)` applying the epilogue to output column n (the bias is binding 3). */
function epilogueFn(e: Epilogue, u: Uniforms, bcol: number): string {
  const at = u.index;
  u.i(e.bias ? e.bias.offset : 0, bcol);
  const bias = e.bias ? ` + ${loadAs(`BIAS[${uw(at)} + ${uw(at + 1)} + n]`, e.bias.dtype, 'f32')}` : '';
  return `fn epi(v: f32, n: i32) -> f32 {
  let x = v${bias};
  return ${e.act ?? 'x'};
}`;
}

/** Records the product writing Y[..., m, ycol + n] with row stride `ldy` (so a split weight fills a column range). */
function encode(a: View, b: View, y: View, ldy: number, ycol: number, epi: Epilogue | null = null): void {
  const r = a.shape.length;
  const [M, K, N] = [a.shape[r - 2], a.shape[r - 1], b.shape[r - 1]];
  const nb = y.shape.slice(0, r - 2).reduce((p, d) => p * d, 1);
  if (M === 0 || N === 0 || nb === 0) return;
  if (!epi && ldy === N && ycol === y.offset && trySubgroupMatrixGemm(a, b, y)) return;
  const tier = chooseTier(a, b, M, K, N);
  const plan = splitPlan(tier, M, K, N, nb);
  if (!plan) {
    encodeOne(tier, a, b, y, ldy, ycol, null, epi);
    return;
  }
  rt().variant(plan.variant);
  const total = nb * M * N;
  withTempF32(plan.splits * total, (pv) => {
    encodeOne(tier, a, b, { ...pv, shape: y.shape }, N, 0, plan);
    sumPartials(pv, y, total, plan.splits, M, N, ldy, ycol, epi?.act ?? null, epi?.bias ?? null);
  });
}

/** Which B layout the uniforms describe: the broadcast tier's own, scalar for shared memory, else the tier's. */
function bLayout(t: Tier): 'nn' | 'nt' | 'scalar' {
  return t.kind === 'bcast' ? t.b : t.kind === 'smem' ? 'scalar' : t.layout;
}

/**
 * Records one dispatch of the tier's shader (over the K chunk of `wid.z / batch` when `split` is given, into f32
 * partials): binds A, B, Y (and the bias), fills the uniforms every tier reads, and builds the shared prologue.
 */
function encodeOne(tier: Tier, a: View, b: View, y: View, ldy: number, ycol: number, split: SplitPlan | null, epi: Epilogue | null = null): void {
  const r = a.shape.length;
  const [M, K, N] = [a.shape[r - 2], a.shape[r - 1], b.shape[r - 1]];
  const batch = y.shape.slice(0, r - 2);
  const nb = batch.reduce((p, d) => p * d, 1);
  const [A4, B4, bm] = [vecA(tier), vecB(tier), bLayout(tier)];
  const div = (x: number, v: boolean) => (v ? x / 4 : x);
  // uniforms: M K N LDY ycol, a (off, sm, sk), b (off, sk, sn), batch meta, K range
  const u = new Uniforms().i(M, K, N, ldy, ycol);
  u.i(div(a.offset, A4), div(a.strides[r - 2], A4), a.strides[r - 1]);
  u.i(div(b.offset, B4), bm === 'nt' ? b.strides[r - 2] : div(b.strides[r - 2], B4), bm === 'nt' ? b.strides[r - 1] / 4 : b.strides[r - 1]);
  const cb = coalesce(batch, [
    { strides: a.strides.slice(0, r - 2).map((s) => div(s, A4)), offset: 0 },
    { strides: b.strides.slice(0, r - 2).map((s) => div(s, B4)), offset: 0 },
  ]);
  const bBase = u.index;
  u.i(...cb.shape);
  for (const s of cb.strides) u.i(...s);
  const R = cb.shape.length;
  const sIdx = u.index;
  const extent = kExtent(tier, K);
  u.i(nb, split ? split.chunk : extent, extent);
  const epiCode = epi ? epilogueFn(epi, u, ycol - y.offset) : '';
  const batchCode: string[] = ['var oa = U_AOFF; var ob = U_BOFF;'];
  if (R > 0) {
    batchCode.push('var rem = i32(bz);');
    for (let d = R - 1; d >= 0; d--) {
      batchCode.push(
        `{ let c = ${d > 0 ? `rem % ${uw(bBase + d)}` : 'rem'}; ${d > 0 ? `rem = rem / ${uw(bBase + d)};` : ''} oa += c * ${uw(bBase + R + d)}; ob += c * ${uw(bBase + 2 * R + d)}; }`,
      );
    }
  }
  const [ea, eb] = [storageType(a.dtype), storageType(b.dtype)];
  const head = `${enables([a.dtype, b.dtype, y.dtype])}
@group(0) @binding(0) var<storage, read> A: array<${A4 ? `vec4<${ea}>` : ea}>;
@group(0) @binding(1) var<storage, read> B: array<${B4 ? `vec4<${eb}>` : eb}>;
@group(0) @binding(2) var<storage, read_write> Y: array<${storageType(y.dtype)}>;
${epi?.bias ? `@group(0) @binding(3) var<storage, read> BIAS: array<${storageType(epi.bias.dtype)}>;\n` : ''}${uniformDecl(u, epi?.bias ? 4 : 3)}
${epiCode}`;
  const prologue = `let M = ${uw(0)}; let K = ${uw(1)}; let N = ${uw(2)}; let LDY = ${uw(3)};
  let sam = ${uw(6)}; let sak = ${uw(7)}; let sbk = ${uw(9)}; let sbn = ${uw(10)};
  let bz = wid.z % u32(${uw(sIdx)}); let ks = i32(wid.z / u32(${uw(sIdx)}));
  let k0 = ks * ${uw(sIdx + 1)}; let k1 = min(${uw(sIdx + 2)}, k0 + ${uw(sIdx + 1)});
  ${batchCode.join('\n  ').replace('U_AOFF', uw(5)).replace('U_BOFF', uw(8))}
  let oy = ${uw(4)} + (ks * ${uw(sIdx)} + i32(bz)) * M * LDY;`;
  const st = (v: string, col: string) => storeFrom(epi ? `epi(${v}, ${col})` : v, 'f32', y.dtype);
  const s: GemmShader = {
    head, prologue, M, N, st,
    zGroups: nb * (split?.splits ?? 1),
    fa: (e) => (A4 ? `vec4<f32>(${e})` : `f32(${e})`),
    fb: (e) => (B4 ? `vec4<f32>(${e})` : `f32(${e})`),
  };
  const store = (row: string, col: string, v: string) => `Y[oy + (${row}) * LDY + ${col}] = ${st(v, col)};`;
  let shader: { code: string; groups: [number, number, number] };
  switch (tier.kind) {
    case 'bcast':
      rt().variant(`matmul:bcast-${tier.b}`);
      shader = bcastGemm(head, prologue, tier.tile, M, N, s.zGroups, A4, tier.b, store);
      break;
    case 'smem':
      rt().variant('matmul:smem');
      shader = smemGemm(head, prologue, tier.tile, M, N, s.zGroups, a.strides[r - 1] === 1, b.strides[r - 1] === 1, store);
      break;
    case 'gemv':
      shader = gemvShader(s, tier);
      break;
    case 'reg':
      shader = regShader(s, tier.layout);
  }
  const { groups } = shader;
  if (groups[2] > 65535) throw new RangeError(`matmul: ${groups[2]} batches exceed the 65535 workgroups of one dispatch; reshape into fewer batches`);
  const code = withPrelude(shader.code);
  const rtm = rt();
  rtm.dispatch(rtm.pipeline(code, () => code), epi?.bias ? [bufOf(a), bufOf(b), bufOf(y), bufOf(epi.bias)] : [bufOf(a), bufOf(b), bufOf(y)], u.data(), groups);
}

/** Y = A . B for other kernels (attention): views as for `matmul`, Y contiguous [..., M, N]. */
export function encodeMatmul(a: View, b: View, y: View): void {
  encode(a, b, y, b.shape[b.shape.length - 1], y.offset);
}

/** The `matmul` kernel, and `matmul_bias_act` with its epilogue (also across a weight split into buffers). */
function matmulKernel(a: View, b: View, y: View, epi: Epilogue | null): void {
    const r = a.shape.length;
    const N = b.shape[r - 1];
    const chunks = chunksOf(b);
    if (!chunks) {
      encode(a, b, y, N, y.offset, epi);
      return;
    }
    // A weight split across buffers (lm_head): B = W^T with W [N, K] row-major in chunks of whole rows; each chunk
    // fills its range of output columns.
    const K = b.shape[r - 2];
    const sn = b.strides[r - 1];
    const batchShared = b.strides.slice(0, r - 2).every((st, i) => st === 0 || b.shape[i] === 1);
    if (b.strides[r - 2] !== 1 || sn !== K || !batchShared || chunks.some((c) => (c.start - b.offset) % K !== 0 || c.count % K !== 0)) {
      throw new UnsupportedError(
        'matmul with an operand split across GPU buffers supports only B = W^T of a row-major weight W [N, K] split into whole rows (linear / lm_head)',
      );
    }
    for (const c of chunks) {
      const n0 = Math.max(0, (c.start - b.offset) / K);
      const n1 = Math.min(N, (c.start + c.count - b.offset) / K);
      if (n1 <= n0) continue;
      const shape = [...b.shape.slice(0, r - 1), n1 - n0];
      encode(a, chunkView(b, c, shape, b.offset + n0 * sn - c.start), y, N, y.offset + n0, epi);
    }
}

registerKernel('webgpu', 'matmul', ([a, b], [y]) => matmulKernel(a, b, y, null), { dtypes: ['float32', 'float16', 'bfloat16'] });

registerKernel(
  'webgpu',
  'matmul_bias_act',
  ([a, b, bias], [y], attrs) => {
    const act = attrs.activation;
    rt().variant('matmul:epilogue');
    matmulKernel(a, b, y, { act: act === 'none' ? null : UNARY[act].wgsl, bias: bias ?? null });
  },
  { dtypes: ['float32', 'float16', 'bfloat16'] },
);
