/**
 * A float16 GEMM on subgroup matrices (Dawn's `chromium-experimental-subgroup-matrix`, WGSL
 * `chromium_experimental_subgroup_matrix`), used by `matmul` only when the device has the feature and the adapter
 * lists a configuration with f16 components (f32 results preferred, as every other tier accumulates in f32).
 *
 * Shape of the kernel: one subgroup per workgroup (workgroup_size x = the adapter's subgroupMaxSize, which the
 * extension requires), each computing one cfg.M x cfg.N block of Y = A . B by walking K in cfg.K steps with
 * subgroupMatrixLoad (row-major A [M, K] and B [K, N] straight from storage) and subgroupMatrixMultiplyAccumulate.
 * f32 results go through workgroup memory to be rounded into the f16 output; f16 results are stored directly.
 * Applies to float16 operands that are contiguous (batch dims contiguous, or broadcast for B) with M, N and K
 * multiples of the configuration's block; other shapes keep the SIMT tiers.
 *
 * Not run here: lavapipe and SwiftShader list no subgroup-matrix configuration. The tests check that the generated
 * WGSL parses (Dawn reports only the missing extension) and that no configuration means the ordinary path.
 */
import type { View } from '../../../backend.ts';
import { bufOf, rt } from '../backend.ts';
import { Uniforms, uniformDecl, uw } from '../codegen.ts';
import type { GpuRuntime } from '../runtime.ts';

export interface SgMatrixConfig {
  M: number;
  N: number;
  K: number;
  /** Component type of the accumulator. */
  result: 'f32' | 'f16';
}

/** The configuration the GEMM uses on this device, or null (no feature, or no f16 configuration listed). */
export function subgroupMatrixConfig(r: GpuRuntime): SgMatrixConfig | null {
  if (!r.features.has('chromium-experimental-subgroup-matrix') || !r.features.has('shader-f16')) return null;
  const info = r.adapter.info as unknown as { subgroupMatrixConfigs?: Iterable<{ componentType: string; resultComponentType: string; M: number; N: number; K: number }> };
  const list = info.subgroupMatrixConfigs ? [...info.subgroupMatrixConfigs] : [];
  const pick = list.find((c) => c.componentType === 'f16' && c.resultComponentType === 'f32') ?? list.find((c) => c.componentType === 'f16' && c.resultComponentType === 'f16');
  return pick ? { M: Number(pick.M), N: Number(pick.N), K: Number(pick.K), result: pick.resultComponentType as 'f32' | 'f16' } : null;
}

/** The GEMM's WGSL for a configuration and subgroup size (uniforms: M, K, N, a/b/y offsets, a/b batch strides). */
export function sgMatrixGemmWgsl(cfg: SgMatrixConfig, sgSize: number): string {
  const u = new Uniforms().i(0, 0, 0, 0, 0, 0, 0, 0);
  const direct = cfg.result === 'f16';
  const store = direct
    ? `subgroupMatrixStore(&Y, yo, acc, false, N);`
    : `subgroupMatrixStore(&tile, 0u, acc, false, ${cfg.N}u);
  workgroupBarrier();
  for (var i = li; i < ${cfg.M * cfg.N}u; i += ${sgSize}u) {
    Y[yo + (i / ${cfg.N}u) * N + i % ${cfg.N}u] = f16(tile[i]);
  }`;
  return `enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> A: array<f16>;
@group(0) @binding(1) var<storage, read> B: array<f16>;
@group(0) @binding(2) var<storage, read_write> Y: array<f16>;
${uniformDecl(u, 3)}
${direct ? '' : `var<workgroup> tile: array<f32, ${cfg.M * cfg.N}>;`}
@compute @workgroup_size(${sgSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = u32(${uw(0)}); let K = u32(${uw(1)}); let N = u32(${uw(2)});
  let row0 = wid.y * ${cfg.M}u; let col0 = wid.x * ${cfg.N}u;
  let ao = u32(${uw(3)}) + wid.z * u32(${uw(6)}) + row0 * K;
  let bo = u32(${uw(4)}) + wid.z * u32(${uw(7)}) + col0;
  let yo = u32(${uw(5)}) + (wid.z * M + row0) * N + col0;
  var acc = subgroup_matrix_result<${cfg.result}, ${cfg.N}, ${cfg.M}>();
  for (var k = 0u; k < K; k += ${cfg.K}u) {
    let l = subgroupMatrixLoad<subgroup_matrix_left<f16, ${cfg.K}, ${cfg.M}>>(&A, ao + k, false, K);
    let r = subgroupMatrixLoad<subgroup_matrix_right<f16, ${cfg.N}, ${cfg.K}>>(&B, bo + k * N, false, N);
    acc = subgroupMatrixMultiplyAccumulate(l, r, acc);
  }
  ${store}
}`;
}

const contiguousRows = (v: View, r: number, cols: number) => v.strides[r - 1] === 1 && v.strides[r - 2] === cols;

/**
 * Records the subgroup-matrix GEMM for Y [..., M, N] = A [..., M, K] . B [..., K, N] when the device and the
 * operands allow it (see the file comment); returns false (recording nothing) otherwise.
 */
export function trySubgroupMatrixGemm(a: View, b: View, y: View): boolean {
  const r = rt();
  const cfg = subgroupMatrixConfig(r);
  if (!cfg || a.dtype !== 'float16' || b.dtype !== 'float16' || y.dtype !== 'float16') return false;
  const rank = a.shape.length;
  const [M, K, N] = [a.shape[rank - 2], a.shape[rank - 1], b.shape[rank - 1]];
  if (M % cfg.M !== 0 || N % cfg.N !== 0 || K % cfg.K !== 0 || !contiguousRows(a, rank, K) || !contiguousRows(b, rank, N)) return false;
  const batch = y.shape.slice(0, rank - 2);
  const nb = batch.reduce((p, d) => p * d, 1);
  // batch dims: A contiguous over them; B contiguous or broadcast (stride 0 everywhere)
  const bBroadcast = b.strides.slice(0, rank - 2).every((s, i) => s === 0 || b.shape[i] === 1);
  let sa = M * K;
  for (let i = rank - 3; i >= 0; i--) {
    if (a.shape[i] !== 1 && a.strides[i] !== sa) return false;
    sa *= a.shape[i];
  }
  let sb = K * N;
  if (!bBroadcast) {
    for (let i = rank - 3; i >= 0; i--) {
      if (b.shape[i] !== 1 && b.strides[i] !== sb) return false;
      sb *= b.shape[i];
    }
  }
  if (nb > 65535) return false;
  const sg = Number(r.adapterInfo.subgroupMaxSize ?? 32);
  const code = sgMatrixGemmWgsl(cfg, sg);
  const u = new Uniforms().i(M, K, N, a.offset, b.offset, y.offset, M * K, bBroadcast ? 0 : K * N);
  r.variant('matmul:subgroup-matrix');
  r.dispatch(r.pipeline(code, () => code), [bufOf(a), bufOf(b), bufOf(y)], u.data(), [N / cfg.N, M / cfg.M, nb]);
  return true;
}
