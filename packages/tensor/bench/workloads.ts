/**
 * The benchmark suites. `cpu` (issues 2 and 8): the shapes PERFORMANCE.md measured for the CPU tiers and their peers.
 * `webgpu` (issue 3): matmul f32/f16 at 1024/2048/4096, decode GEMVs, attention prefill (577 and 2048 tokens) and
 * decode (1 query over 2048 keys), and ResNet-50 convolutions at a 1024x1024 input.
 */
import type { Workload } from '@segllm/bench/peers';

export interface Case {
  w: Workload;
  shape: string;
}

const mm = (M: number, K: number, N: number, half = false, bT = false): Case => ({
  w: { op: 'matmul', M, K, N, half, bT },
  shape: `${M}x${K} . ${bT ? `(${N}x${K})^T` : `${K}x${N}`}${half ? ' f16 (peers f32)' : ''}`,
});

export const CPU_SUITE: Case[] = [
  mm(256, 256, 256),
  mm(512, 512, 512),
  mm(1024, 1024, 1024),
  mm(1, 4096, 4096),
  mm(577, 1024, 4096),
  // GEMV with float16 activations and weights on segllm backends (decode); peers run it in float32.
  mm(1, 4096, 4096, true),
  { w: { op: 'conv2d', N: 1, C: 64, H: 56, W: 56, O: 64, k: 3, pad: 1 }, shape: '1x64x56x56, 64x64x3x3, pad 1' },
  { w: { op: 'attention', H: 16, T: 577, D: 64 }, shape: '16 heads x 577 tokens x 64' },
];

const conv = (C: number, H: number, O: number, k: number, stride: number, what: string): Case => ({
  w: { op: 'conv2d', N: 1, C, H, W: H, O, k, pad: (k - 1) >> 1, stride },
  shape: `${what}: 1x${C}x${H}x${H}, ${O}x${C}x${k}x${k}${stride > 1 ? ` s${stride}` : ''}`,
});

export const WEBGPU_SUITE: Case[] = [
  ...[1024, 2048, 4096].flatMap((n) => [mm(n, n, n), mm(n, n, n, true)]),
  // decode GEMVs with nn.Linear weights [N, K] (LLaMA-7B q/k/v/o and gate/up projections)
  ...[4096, 11008].flatMap((n) => [mm(1, 4096, n, false, true), mm(1, 4096, n, true, true)]),
  { w: { op: 'attention', H: 16, T: 577, D: 64 }, shape: 'prefill 16 heads x 577 x 64' },
  { w: { op: 'attention', H: 32, T: 2048, D: 128 }, shape: 'prefill 32 heads x 2048 x 128' },
  { w: { op: 'attention', H: 32, T: 2048, D: 128, Tq: 1 }, shape: 'decode 32 heads, 1 query x 2048 keys x 128' },
  { w: { op: 'attention', H: 32, T: 2048, D: 128, Tq: 1, half: true }, shape: 'decode 32 heads, 1 x 2048 x 128 f16 (peers f32)' },
  conv(3, 1024, 64, 7, 2, 'ResNet-50 stem'),
  conv(64, 256, 64, 3, 1, 'layer1 3x3'),
  conv(128, 128, 128, 3, 1, 'layer2 3x3'),
  conv(256, 64, 256, 3, 1, 'layer3 3x3'),
  conv(512, 32, 512, 3, 1, 'layer4 3x3'),
];

export function flops(w: Workload): number {
  if (w.op === 'matmul') return 2 * w.M * w.K * w.N;
  if (w.op === 'conv2d') {
    const s = w.stride ?? 1;
    const ho = Math.floor((w.H + 2 * w.pad - w.k) / s) + 1;
    const wo = Math.floor((w.W + 2 * w.pad - w.k) / s) + 1;
    return 2 * w.N * w.O * w.C * w.k * w.k * ho * wo;
  }
  return 4 * w.H * (w.Tq ?? w.T) * w.T * w.D; // QK^T and PV; softmax not counted
}

/**
 * Bytes a memory-bound case must read (weights of a GEMV, keys and values of a decode step), for GB/s; null when the
 * case is compute bound. `halfOk`: the implementation really stores `half` workloads in float16.
 */
export function boundBytes(w: Workload, halfOk: boolean): number | null {
  const elt = 'half' in w && w.half && halfOk ? 2 : 4;
  if (w.op === 'matmul' && w.M <= 4) return w.K * w.N * elt;
  if (w.op === 'attention' && (w.Tq ?? w.T) <= 4) return 2 * w.H * w.T * w.D * elt;
  return null;
}
