/**
 * The one place that chooses how a matmul runs on WebGPU (the tier), and what follows from the choice: the grid,
 * the loop extent along K and the K step that split-K chunks must respect. The shader builders (./matmul-gemv.ts,
 * ./matmul-reg.ts, ./matmul-bcast.ts, ./matmul-smem.ts) and the split-K plan (./matmul-splitk.ts) all read these, so
 * the plan and the dispatch cannot disagree. (The float16 subgroup-matrix tier, ./sgmatrix.ts, is tried before.)
 */
import type { View } from '../../../backend.ts';
import { rt } from '../backend.ts';
import { BCAST, bcastTile, type BcastB } from './matmul-bcast.ts';
import { smemTile, type SmemTile } from './matmul-smem.ts';

/** How A and B are read: vec4 along K for A and along N for B (`nn`), vec4 along K for both (`nt`: transposed
 * weights as in linear), or scalars at any strides. */
export type Layout = 'nn' | 'nt' | 'scalar';

export type Tier =
  /** M <= 4: one thread per output column (4 columns for `nn`); `wgColumn`: one workgroup per column splitting K. */
  | { kind: 'gemv'; layout: Layout; wgColumn: boolean }
  /** CPU adapters with subgroups (lavapipe, SwiftShader): the broadcast GEMM. */
  | { kind: 'bcast'; tile: NonNullable<ReturnType<typeof bcastTile>>; b: BcastB; aVec: boolean }
  /** GPU adapters: the shared-memory tiled GEMM. */
  | { kind: 'smem'; tile: SmemTile }
  /** Everything else: the register-tiled GEMM straight from global memory. */
  | { kind: 'reg'; layout: Layout };

/** The register-tiled GEMM's tile: TM x TN outputs per thread, WGX x WGY threads per workgroup. */
export const REG = { TM: 4, TN: 8, WGX: 8, WGY: 8 };

/** Whether a view can be read as vec4 along dim `d` (unit stride, every other stride and the offset divisible by 4). */
export function vec4Along(v: View, d: number, extent: number): boolean {
  if (extent % 4 !== 0 || v.strides[d] !== 1 || v.offset % 4 !== 0) return false;
  return v.strides.every((s, i) => i === d || s % 4 === 0 || v.shape[i] === 1);
}

function layoutOf(a: View, b: View, K: number, N: number): Layout {
  const r = a.shape.length;
  const vA = vec4Along(a, r - 1, K);
  if (vA && vec4Along(b, r - 1, N)) return 'nn';
  return vA && vec4Along(b, r - 2, K) ? 'nt' : 'scalar';
}

/** The tier for A [..., M, K] . B [..., K, N] on the current adapter. */
export function chooseTier(a: View, b: View, M: number, K: number, N: number): Tier {
  const r = a.shape.length;
  if (M <= 4) {
    const layout = layoutOf(a, b, K, N);
    // per column workgroups: coalesced weight rows on GPUs; on CPU adapters the per-thread form is faster
    return { kind: 'gemv', layout, wgColumn: layout === 'nt' && N <= 65535 && !rt().cpuAdapter };
  }
  const tile = bcastTile();
  if (tile) {
    const b4: BcastB = vec4Along(b, r - 1, N) ? 'nn' : vec4Along(b, r - 2, K) ? 'nt' : 'scalar';
    return { kind: 'bcast', tile, b: b4, aVec: BCAST.aVec && vec4Along(a, r - 1, K) };
  }
  const smem = smemTile(M, N);
  if (smem) return { kind: 'smem', tile: smem };
  return { kind: 'reg', layout: layoutOf(a, b, K, N) };
}

/** The tier's name in variant labels (`matmul:splitk-<name>`). */
export function tierName(t: Tier): string {
  if (t.kind === 'gemv') return `gemv-${t.layout}${t.wgColumn ? '-wg' : ''}`;
  return t.kind === 'reg' ? t.layout : t.kind;
}

/** Whether A / B are bound as vec4 arrays. */
export function vecA(t: Tier): boolean {
  return t.kind === 'bcast' ? t.aVec : t.kind !== 'smem' && t.layout !== 'scalar';
}
export function vecB(t: Tier): boolean {
  return t.kind === 'bcast' ? t.b !== 'scalar' : t.kind !== 'smem' && t.layout !== 'scalar';
}

/** Loop steps along K: vec4 steps when A and B are both read as vec4 along K. */
export function kExtent(t: Tier, K: number): number {
  if (t.kind === 'bcast' || t.kind === 'smem') return K;
  return t.layout === 'scalar' || (t.kind === 'gemv' && t.layout === 'nn') ? K : K / 4;
}

/** Split-K chunks start at multiples of this many loop steps (the broadcast tier steps K by 4 x subgroup size). */
export function kStep(t: Tier): number {
  return t.kind === 'bcast' ? 4 * t.tile.S : t.kind === 'smem' ? t.tile.BK : 1;
}

/** Workgroups [x, y] covering an M x N output (one batch, one K chunk). */
export function tierGroups(t: Tier, M: number, N: number): [number, number] {
  switch (t.kind) {
    case 'gemv':
      return t.wgColumn ? [N, 1] : [Math.ceil(N / (t.layout === 'nn' ? 4 : 1) / 64), 1];
    case 'bcast':
      return [Math.ceil(N / (t.tile.S * t.tile.TN)), Math.ceil(M / (t.tile.TM * t.tile.NSG))];
    case 'smem':
      return [Math.ceil(N / t.tile.BN), Math.ceil(M / t.tile.BM)];
    case 'reg':
      return [Math.ceil(N / (REG.TN * REG.WGX)), Math.ceil(M / (REG.TM * REG.WGY))];
  }
}
