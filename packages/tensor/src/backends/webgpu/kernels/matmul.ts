/**
 * WebGPU kernel `matmul`: A [..., M, K] . B [..., K, N] -> Y [..., M, N] (contiguous), batch dims already broadcast
 * (stride 0 allowed), any strides, float32/bfloat16/float16 with f32 accumulation. Tiers by shape and layout:
 *  - float16 on devices with subgroup matrices (chromium-experimental-subgroup-matrix): ./sgmatrix.ts;
 *  - M <= 64 with K >= 4096 and few output tiles: split-K (SPLIT_K), f32 partials per K chunk, then a sum pass;
 *  - M <= 4: GEMV, one thread per output column (per 4 columns when B is N-contiguous), A rows in registers; with
 *    transposed weights (B K-contiguous, as in linear) one workgroup per column splitting K, except on CPU
 *    adapters (lavapipe), where the per-thread form is faster.
 *  - GPU adapters: a shared-memory tiled GEMM, 64 x 64 or 128 x 128 tiles (./matmul-smem.ts);
 *  - CPU adapters with subgroups (lavapipe, SwiftShader): the broadcast GEMM (./matmul-bcast.ts);
 *  - otherwise a register-tiled GEMM reading straight from global memory (no workgroup tiles, which are slow on
 *    lavapipe): each thread computes 4 rows x 8 columns; vec4 loads along K for A, and along N ("NN") or K ("NT",
 *    transposed weights as in linear) for B when the layout allows; a scalar strided fallback otherwise.
 * Kernel `matmul_bias_act` (ops/matmul/linear.ts) runs the same tiers with a fused bias/activation epilogue in the
 * stores (in the summing pass under split-K).
 */
import type { View } from '../../../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { UnsupportedError } from '../../../backend.ts';
import { bufOf, chunkView, chunksOf, rt } from '../backend.ts';
import { launch, withTempF32 } from './launch.ts';
import { trySubgroupMatrixGemm } from './sgmatrix.ts';
import { BCAST, bcastGemm, bcastTile } from './matmul-bcast.ts';
import type { BcastB } from './matmul-bcast.ts';
import { smemGemm, smemTile } from './matmul-smem.ts';
import { Uniforms, coalesce, enables, loadAs, storageType, storeFrom, uniformDecl, uw } from '../codegen.ts';
import { withPrelude } from '../codegen.ts';
import { UNARY, type UnaryName } from '../../../ops/elementwise/table.ts';

const TM = 4;
const TN = 8;
const WGX = 8;
const WGY = 8;

/** Whether a view can be read as vec4 along dim `d` (unit stride, every other stride and the offset divisible by 4). */
function vec4Along(v: View, d: number, extent: number): boolean {
  if (extent % 4 !== 0 || v.strides[d] !== 1 || v.offset % 4 !== 0) return false;
  return v.strides.every((s, i) => i === d || s % 4 === 0 || v.shape[i] === 1);
}

/**
 * Records one matmul dispatch writing Y[..., m, ycol + n] with row stride `ldy` (so a split weight can fill a
 * column range of the output per chunk).
 */
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

function encode(a: View, b: View, y: View, ldy: number, ycol: number, epi: Epilogue | null = null): void {
    const rr = a.shape.length;
    const MM = a.shape[rr - 2];
    const KK = a.shape[rr - 1];
    const NN = b.shape[rr - 1];
    const nbb = y.shape.slice(0, rr - 2).reduce((p, d) => p * d, 1);
    if (MM === 0 || NN === 0 || nbb === 0) return;
    if (!epi && ldy === NN && ycol === y.offset && trySubgroupMatrixGemm(a, b, y)) return;
    const plan = splitPlan(a, b, MM, KK, NN, nbb);
    if (!plan) {
      encodeOne(a, b, y, ldy, ycol, null, epi);
      return;
    }
    // Split-K: partial products of each K chunk into P [S, batch, M, N] (f32), then one pass sums the chunks.
    rt().variant(`matmul:splitk-${plan.mode}`);
    const total = nbb * MM * NN;
    withTempF32(plan.splits * total, (pv) => {
      encodeOne(a, b, { ...pv, shape: y.shape }, NN, 0, plan);
      launch(epi?.bias ? [pv, epi.bias] : [pv], [{ ...y, offset: 0 }], total, (u) => {
        const m = u.index;
        u.i(plan.splits, MM, NN, ldy, ycol, ycol - y.offset);
        const w = (i: number) => uw(m + i);
        // the epilogue (bias of column bcol + n, activation) on the summed value
        const bias = epi?.bias ? ` + ${loadAs(`in1[b1 + ${w(5)} + n]`, epi.bias.dtype, 'f32')}` : '';
        const fin = epi ? `let x = s${bias}; let r = ${epi.act ?? 'x'};` : 'let r = s;';
        return `let tot = ${uw(0)}; let i = i32(idx); let n = i % ${w(2)}; let row = i / ${w(2)};
  var s = 0.0;
  for (var t = 0; t < ${w(0)}; t++) { s += in0[b0 + t * tot + i]; }
  ${fin}
  out0[${w(4)} + row * ${w(3)} + n] = ${storeFrom('r', 'f32', y.dtype)};`;
      });
    });
}

/** How a split-K dispatch cuts K: `splits` chunks of `chunk` loop steps (vec4 steps in the vec4 modes). */
interface SplitPlan {
  splits: number;
  chunk: number;
  mode: string;
}

/**
 * Split-K applies to M <= 64 and K >= 4096 when the output has few workgroups (under 32 tiles, batches included):
 * K is cut into chunks of at least `minChunk` loop steps so that about `targetGroups` workgroups run (a few on CPU
 * adapters, whose "GPU" is a handful of threads).
 */
export const SPLIT_K = { maxM: 64, minK: 4096, maxTiles: 32, targetGroups: 64, targetGroupsCpu: 8, minChunk: 256 };

function splitPlan(a: View, b: View, M: number, K: number, N: number, nb: number): SplitPlan | null {
  if (M > SPLIT_K.maxM || K < SPLIT_K.minK) return null;
  const r = a.shape.length;
  const gemv = M <= 4;
  const tile = gemv ? null : bcastTile();
  const smem = gemv || tile ? null : smemTile(M, N);
  const m = tile ? 'bcast' : smem ? 'smem' : layoutMode(a, b, r, K, N);
  const wgColumn = gemv && m === 'nt' && N <= 65535 && !rt().cpuAdapter;
  const tiles =
    nb *
    (gemv
      ? wgColumn
        ? N
        : Math.ceil(N / (m === 'nn' ? 4 : 1) / 64)
      : tile
        ? Math.ceil(N / (tile.S * tile.TN)) * Math.ceil(M / (tile.TM * tile.NSG))
        : smem
          ? Math.ceil(N / smem.BN) * Math.ceil(M / smem.BM)
          : Math.ceil(N / (TN * WGX)) * Math.ceil(M / (TM * WGY)));
  if (tiles >= SPLIT_K.maxTiles) return null;
  const extent = m === 'scalar' || m === 'bcast' || m === 'smem' || (gemv && m === 'nn') ? K : K / 4;
  const want = Math.min(Math.ceil((rt().cpuAdapter ? SPLIT_K.targetGroupsCpu : SPLIT_K.targetGroups) / tiles), Math.floor(extent / SPLIT_K.minChunk));
  if (want < 2) return null;
  // The broadcast tier steps K by 4 x subgroup size: chunks start at multiples of it.
  const step = tile ? 4 * tile.S : smem ? smem.BK : 1;
  const chunk = Math.ceil(extent / want / step) * step;
  const splits = Math.ceil(extent / chunk);
  if (nb * splits > 65535) return null;
  return { splits, chunk, mode: gemv ? `gemv-${m}${wgColumn ? '-wg' : ''}` : m };
}

function layoutMode(a: View, b: View, r: number, K: number, N: number): 'nn' | 'nt' | 'scalar' {
  const vA = vec4Along(a, r - 1, K);
  const bNN = vec4Along(b, r - 1, N);
  const bNT = !bNN && vec4Along(b, r - 2, K);
  return vA && bNN ? 'nn' : vA && bNT ? 'nt' : 'scalar';
}

/** Records the matmul dispatch (over the K chunk of `wid.z / batch` when `split` is given, into f32 partials). */
function encodeOne(a: View, b: View, y: View, ldy: number, ycol: number, split: SplitPlan | null, epi: Epilogue | null = null): void {
    const r = a.shape.length;
    const M = a.shape[r - 2];
    const K = a.shape[r - 1];
    const N = b.shape[r - 1];
    const batch = y.shape.slice(0, r - 2);
    const nb = batch.reduce((p, d) => p * d, 1);
    if (M === 0 || N === 0 || nb === 0) return;
    const gemv = M <= 4;
    // CPU adapters with subgroups: the broadcast GEMM (./matmul-bcast.ts), scalar loads at any strides.
    const tile = gemv ? null : bcastTile();
    // GPU adapters: the shared-memory tiled GEMM (./matmul-smem.ts)
    const smem = gemv || tile ? null : smemTile(M, N);
    const mode = layoutMode(a, b, r, K, N);
    const bMode: BcastB = vec4Along(b, r - 1, N) ? 'nn' : vec4Along(b, r - 2, K) ? 'nt' : 'scalar';
    const bm = tile ? bMode : smem ? 'scalar' : mode;
    const ea = storageType(a.dtype);
    const eb = storageType(b.dtype);
    const A4 = tile ? BCAST.aVec && vec4Along(a, r - 1, K) : !smem && mode !== 'scalar';
    const B4 = bm !== 'scalar';
    const div = (x: number, v: boolean) => (v ? x / 4 : x);
    // uniforms: M K N, a (off, sm, sk), b (off, sk, sn), batch meta
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
    const extent = tile || smem || mode === 'scalar' || (gemv && mode === 'nn') ? K : K / 4;
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
    const head = `${enables([a.dtype, b.dtype, y.dtype])}
@group(0) @binding(0) var<storage, read> A: array<${A4 ? `vec4<${ea}>` : ea}>;
@group(0) @binding(1) var<storage, read> B: array<${B4 ? `vec4<${eb}>` : eb}>;
@group(0) @binding(2) var<storage, read_write> Y: array<${storageType(y.dtype)}>;
${epi?.bias ? `@group(0) @binding(3) var<storage, read> BIAS: array<${storageType(epi.bias.dtype)}>;\n` : ''}${uniformDecl(u, epi?.bias ? 4 : 3)}
${epi ? epiCode : ''}`;
    const prologue = `let M = ${uw(0)}; let K = ${uw(1)}; let N = ${uw(2)}; let LDY = ${uw(3)};
  let sam = ${uw(6)}; let sak = ${uw(7)}; let sbk = ${uw(9)}; let sbn = ${uw(10)};
  let bz = wid.z % u32(${uw(sIdx)}); let ks = i32(wid.z / u32(${uw(sIdx)}));
  let k0 = ks * ${uw(sIdx + 1)}; let k1 = min(${uw(sIdx + 2)}, k0 + ${uw(sIdx + 1)});
  ${batchCode.join('\n  ').replace('U_AOFF', uw(5)).replace('U_BOFF', uw(8))}
  let oy = ${uw(4)} + (ks * ${uw(sIdx)} + i32(bz)) * M * LDY;`;
    const st = (v: string, col: string) => storeFrom(epi ? `epi(${v}, ${col})` : v, 'f32', y.dtype);
    const fa = (e: string) => (A4 ? `vec4<f32>(${e})` : `f32(${e})`);
    const fb = (e: string) => (B4 ? `vec4<f32>(${e})` : `f32(${e})`);
    let code: string;
    let groups: [number, number, number];
    if (tile) {
      rt().variant(`matmul:bcast-${bMode}`);
      const store = (row: string, col: string, v: string) => `Y[oy + (${row}) * LDY + ${col}] = ${st(v, col)};`;
      ({ code, groups } = bcastGemm(head, prologue, tile, M, N, nb * (split?.splits ?? 1), A4, bMode, store));
    } else if (smem) {
      rt().variant('matmul:smem');
      const store = (row: string, col: string, v: string) => `Y[oy + (${row}) * LDY + ${col}] = ${st(v, col)};`;
      ({ code, groups } = smemGemm(head, prologue, smem, M, N, nb * (split?.splits ?? 1), a.strides[r - 1] === 1, b.strides[r - 1] === 1, store));
    } else if (gemv) {
      const cols = mode === 'nn' ? 4 : 1;
      const rows = Array.from({ length: M }, (_, i) => i);
      const accT = mode === 'nn' ? 'vec4<f32>' : 'f32';
      let body: string;
      if (mode === 'nn') {
        body = `for (var k = k0; k < k1; k++) {
      let bv = ${fb('B[ob + k * sbk + n4]')};
      ${rows.map((i) => `c${i} += f32(A[oa + ${i} * sam + k / 4][k % 4]) * bv;`).join('\n      ')}
    }`;
      } else if (mode === 'nt') {
        body = `for (var k = k0; k < k1; k++) {
      let bv = ${fb('B[ob + n * sbn + k]')};
      ${rows.map((i) => `c${i} += dot(${fa(`A[oa + ${i} * sam + k]`)}, bv);`).join('\n      ')}
    }`;
      } else {
        body = `for (var k = k0; k < k1; k++) {
      let bv = ${fb('B[ob + k * sbk + n * sbn]')};
      ${rows.map((i) => `c${i} += ${fa(`A[oa + ${i} * sam + k * sak]`)} * bv;`).join('\n      ')}
    }`;
      }
      const stores =
        mode === 'nn'
          ? rows.map((i) => [0, 1, 2, 3].map((j) => `Y[oy + ${i} * LDY + n + ${j}] = ${st(`c${i}[${j}]`, `n + ${j}`)};`).join(' ')).join('\n  ')
          : rows.map((i) => `Y[oy + ${i} * LDY + n] = ${st(`c${i}`, 'n')};`).join('\n  ');
      if (mode === 'nt' && N <= 65535 && !rt().cpuAdapter) {
        // Transposed weights (linear, lm_head): one workgroup per output column, its 64 threads splitting K into
        // contiguous vec4 runs of the weight row (coalesced), then a tree sum of the (up to 4) row partials.
        const lanes = ['x', 'y', 'z', 'w'];
        code = `${head}
var<workgroup> red: array<vec4<f32>, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${prologue}
  let n = i32(wid.x);
  var acc = vec4<f32>(0.0);
  for (var k = k0 + i32(li); k < k1; k += 64) {
    let bv = ${fb('B[ob + n * sbn + k]')};
    ${rows.map((i) => `acc.${lanes[i]} += dot(${fa(`A[oa + ${i} * sam + k]`)}, bv);`).join('\n    ')}
  }
  red[li] = acc;
  for (var w = 32u; w > 0u; w = w / 2u) {
    workgroupBarrier();
    if (li < w) { red[li] = red[li] + red[li + w]; }
  }
  if (li == 0u) {
    ${rows.map((i) => `Y[oy + ${i} * LDY + n] = ${st(`red[0].${lanes[i]}`, 'n')};`).join('\n    ')}
  }
}`;
        groups = [N, 1, nb * (split?.splits ?? 1)];
      } else {
      code = `${head}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${prologue}
  let n = i32(wid.x * 64u + li) * ${cols};
  if (n >= N) { return; }
  let n4 = n / 4;
  ${rows.map((i) => `var c${i}: ${accT} = ${accT}(0.0);`).join(' ')}
  ${body}
  ${stores}
}`;
      groups = [Math.ceil(N / cols / 64), 1, nb * (split?.splits ?? 1)];
      }
    } else {
      const I = Array.from({ length: TM }, (_, i) => i);
      const J = Array.from({ length: TN }, (_, j) => j);
      // Whole tiles only (M, N multiples of the workgroup tile): no clamped loads and no guarded stores.
      const full = M % (TM * WGY) === 0 && N % (TN * WGX) === 0;
      const guard = (i: number, j: number, e: string) => (full ? e : `if (m0 + ${i} < M && n0 + ${j} < N) { ${e} }`);
      const rowIdx = I.map((i) => (full ? `let r${i} = m0 + ${i};` : `let r${i} = min(m0 + ${i}, M - 1);`)).join(' ');
      let decl: string;
      let body: string;
      let stores: string;
      if (mode === 'nn') {
        // acc c{i}_{h}: vec4 over columns n0 + 4h .. n0 + 4h + 3
        decl = I.map((i) => `var c${i}_0 = vec4<f32>(0.0); var c${i}_1 = vec4<f32>(0.0);`).join(' ');
        body = `${full ? 'let nb0 = n0 / 4; let nb1 = n0 / 4 + 1;' : 'let nb0 = min(n0 / 4, N / 4 - 1); let nb1 = min(n0 / 4 + 1, N / 4 - 1);'}
  for (var k = k0; k < k1; k++) {
    ${I.map((i) => `let a${i} = ${fa(`A[oa + r${i} * sam + k]`)};`).join(' ')}
    ${['x', 'y', 'z', 'w'].map((kc, kk) => `{ let br = ob + (k * 4 + ${kk}) * sbk;
      let b0 = ${fb('B[br + nb0]')}; let b1 = ${fb('B[br + nb1]')};
      ${I.map((i) => `c${i}_0 += a${i}.${kc} * b0; c${i}_1 += a${i}.${kc} * b1;`).join(' ')} }`).join('\n    ')}
  }`;
        stores = I.map((i) => J.map((j) => guard(i, j, `Y[oy + (m0 + ${i}) * LDY + n0 + ${j}] = ${st(`c${i}_${j >> 2}[${j & 3}]`, `n0 + ${j}`)};`)).join('\n  ')).join('\n  ');
      } else if (mode === 'nt') {
        decl = I.map((i) => J.map((j) => `var c${i}_${j} = 0.0;`).join(' ')).join(' ');
        body = `${J.map((j) => (full ? `let nn${j} = (n0 + ${j}) * sbn;` : `let nn${j} = min(n0 + ${j}, N - 1) * sbn;`)).join(' ')}
  for (var k = k0; k < k1; k++) {
    ${I.map((i) => `let a${i} = ${fa(`A[oa + r${i} * sam + k]`)};`).join(' ')}
    ${J.map((j) => `{ let b = ${fb(`B[ob + nn${j} + k]`)}; ${I.map((i) => `c${i}_${j} += dot(a${i}, b);`).join(' ')} }`).join('\n    ')}
  }`;
        stores = I.map((i) => J.map((j) => guard(i, j, `Y[oy + (m0 + ${i}) * LDY + n0 + ${j}] = ${st(`c${i}_${j}`, `n0 + ${j}`)};`)).join('\n  ')).join('\n  ');
      } else {
        decl = I.map((i) => J.map((j) => `var c${i}_${j} = 0.0;`).join(' ')).join(' ');
        body = `${J.map((j) => (full ? `let nn${j} = (n0 + ${j}) * sbn;` : `let nn${j} = min(n0 + ${j}, N - 1) * sbn;`)).join(' ')}
  for (var k = k0; k < k1; k++) {
    ${I.map((i) => `let a${i} = ${fa(`A[oa + r${i} * sam + k * sak]`)};`).join(' ')}
    let bk = ob + k * sbk;
    ${J.map((j) => `{ let b = ${fb(`B[bk + nn${j}]`)}; ${I.map((i) => `c${i}_${j} += a${i} * b;`).join(' ')} }`).join('\n    ')}
  }`;
        stores = I.map((i) => J.map((j) => guard(i, j, `Y[oy + (m0 + ${i}) * LDY + n0 + ${j}] = ${st(`c${i}_${j}`, `n0 + ${j}`)};`)).join('\n  ')).join('\n  ');
      }
      code = `${head}
@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${prologue}
  let m0 = i32(wid.y * ${WGY}u + lid.y) * ${TM};
  let n0 = i32(wid.x * ${WGX}u + lid.x) * ${TN};
  if (m0 >= M || n0 >= N) { return; }
  ${rowIdx}
  ${decl}
  ${body}
  ${stores}
}`;
      groups = [Math.ceil(N / (TN * WGX)), Math.ceil(M / (TM * WGY)), nb * (split?.splits ?? 1)];
    }
    if (groups[2] > 65535) throw new RangeError(`matmul: ${groups[2]} batches exceed the 65535 workgroups of one dispatch; reshape into fewer batches`);
    const rtm = rt();
    code = withPrelude(code);
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
    const act = attrs.activation as string;
    if (act !== 'none' && !(act in UNARY)) throw new UnsupportedError(`matmul_bias_act: unknown activation '${act}'`);
    rt().variant('matmul:epilogue');
    matmulKernel(a, b, y, { act: act === 'none' ? null : UNARY[act as UnaryName].wgsl, bias: bias ?? null });
  },
  { dtypes: ['float32', 'float16', 'bfloat16'] },
);
