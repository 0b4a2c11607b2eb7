/**
 * The matmul tier for GPU adapters: a shared-memory tiled GEMM. A workgroup of 16 x 16 threads computes a BM x BN
 * output tile (64 x 64, or 128 x 128 when both M and N are at least SMEM.bigAt): per step of BK values of k it
 * stages A [BM, BK] and B [BK, BN] in workgroup memory (loads ordered along whichever dim the operand is contiguous
 * in, so neighbouring threads read neighbouring addresses: NN, NT (linear) and strided operands alike), then each
 * thread accumulates its (BM / 16) x (BN / 16) outputs in registers, rows ty + 16 i and columns tx + 16 j (B reads
 * and the stores are consecutive across tx; A reads are broadcasts). Out-of-range rows, columns and k read as zero.
 *
 * Not used on CPU adapters: on lavapipe workgroup-memory tiles ran at 1-5 GFLOP/s (see ./matmul-bcast.ts). Its speed
 * on a real GPU has not been measured here (no GPU in this environment); tests run it on lavapipe for correctness.
 */
import { rt } from '../backend.ts';

export const SMEM = { BK: 16, bigAt: 2048, enabled: true };

export interface SmemTile {
  BM: number;
  BN: number;
  BK: number;
}

/** The tile for an M x N output on this adapter, or null (CPU adapters, or turned off). */
export function smemTile(M: number, N: number): SmemTile | null {
  if (!SMEM.enabled || rt().cpuAdapter) return null;
  const big = M >= SMEM.bigAt && N >= SMEM.bigAt;
  return { BM: big ? 128 : 64, BN: big ? 128 : 64, BK: SMEM.BK };
}

/**
 * The shader (after the caller's `head`, declaring scalar A, B and Y, and `prologue`, defining M K N LDY sam sak sbk
 * sbn k0 k1 oa ob oy) and its grid. `aKFast` / `bNFast`: A contiguous along K / B along N (the load order).
 */
export function smemGemm(
  head: string,
  prologue: string,
  t: SmemTile,
  M: number,
  N: number,
  zGroups: number,
  aKFast: boolean,
  bNFast: boolean,
  store: (row: string, col: string, v: string) => string,
): { code: string; groups: [number, number, number] } {
  const { BM, BN, BK } = t;
  const TM = BM / 16;
  const TN = BN / 16;
  const I = Array.from({ length: TM }, (_, i) => i);
  const J = Array.from({ length: TN }, (_, j) => j);
  const loadsA = (BM * BK) / 256;
  const loadsB = (BK * BN) / 256;
  const aIdx = aKFast ? `let m = e / ${BK}; let kk = e % ${BK};` : `let kk = e / ${BM}; let m = e % ${BM};`;
  const bIdx = bNFast ? `let kk = e / ${BN}; let n = e % ${BN};` : `let n = e / ${BK}; let kk = e % ${BK};`;
  const code = `${head}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${prologue}
  let tm0 = i32(wid.y) * ${BM}; let tn0 = i32(wid.x) * ${BN};
  let tx = i32(lid.x); let ty = i32(lid.y);
  ${I.map((i) => J.map((j) => `var c${i}_${j} = 0.0;`).join(' ')).join('\n  ')}
  for (var kt = k0; kt < k1; kt += ${BK}) {
    for (var t = 0; t < ${loadsA}; t++) {
      let e = i32(li) + t * 256; ${aIdx}
      let gm = tm0 + m; let gk = kt + kk;
      As[kk * ${BM} + m] = select(0.0, f32(A[oa + min(gm, M - 1) * sam + min(gk, K - 1) * sak]), gm < M && gk < k1);
    }
    for (var t = 0; t < ${loadsB}; t++) {
      let e = i32(li) + t * 256; ${bIdx}
      let gn = tn0 + n; let gk = kt + kk;
      Bs[kk * ${BN} + n] = select(0.0, f32(B[ob + min(gk, K - 1) * sbk + min(gn, N - 1) * sbn]), gn < N && gk < k1);
    }
    workgroupBarrier();
    for (var kk = 0; kk < ${BK}; kk++) {
      ${I.map((i) => `let a${i} = As[kk * ${BM} + ty + ${16 * i}];`).join(' ')}
      ${J.map((j) => `let b${j} = Bs[kk * ${BN} + tx + ${16 * j}];`).join(' ')}
      ${I.map((i) => J.map((j) => `c${i}_${j} += a${i} * b${j};`).join(' ')).join('\n      ')}
    }
    workgroupBarrier();
  }
  ${I.map((i) =>
    J.map((j) => `if (tm0 + ty + ${16 * i} < M && tn0 + tx + ${16 * j} < N) { ${store(`tm0 + ty + ${16 * i}`, `tn0 + tx + ${16 * j}`, `c${i}_${j}`)} }`).join('\n  '),
  ).join('\n  ')}
}`;
  return { code, groups: [Math.ceil(N / BN), Math.ceil(M / BM), zGroups] };
}
