/**
 * The register-tiled GEMM (adapters where neither the broadcast nor the shared-memory tier applies): no workgroup
 * tiles (slow on lavapipe); each thread computes REG.TM rows x REG.TN columns reading straight from global memory,
 * with vec4 loads along K for A, and along N (`nn`) or K (`nt`, transposed weights as in linear) for B when the
 * layout allows; scalar loads at any strides otherwise. Whole tiles (M, N multiples of the workgroup tile) skip
 * the clamped loads and guarded stores.
 */
import { REG, type Layout } from './matmul-tier.ts';

/** What every tier's shader builder gets from ./matmul.ts. */
export interface GemmShader {
  /** Bindings A, B, Y (and BIAS), the uniforms, and the epilogue function when there is one. */
  head: string;
  /** WGSL defining M K N LDY sam sak sbk sbn, the K range k0..k1 and the offsets oa ob oy of this batch / K chunk. */
  prologue: string;
  M: number;
  N: number;
  /** Workgroups along z: batches x K chunks. */
  zGroups: number;
  /** The stored form of f32 value `v` of output column `col` (epilogue applied, rounded to Y's dtype). */
  st: (v: string, col: string) => string;
  /** A / B element expression as f32 (vec4<f32> when bound as vec4). */
  fa: (e: string) => string;
  fb: (e: string) => string;
}

export function regShader(s: GemmShader, layout: Layout): { code: string; groups: [number, number, number] } {
  const { head, prologue, M, N, st, fa, fb } = s;
  const { TM, TN, WGX, WGY } = REG;
  const I = Array.from({ length: TM }, (_, i) => i);
  const J = Array.from({ length: TN }, (_, j) => j);
  const full = M % (TM * WGY) === 0 && N % (TN * WGX) === 0;
  const guard = (i: number, j: number, e: string) => (full ? e : `if (m0 + ${i} < M && n0 + ${j} < N) { ${e} }`);
  const rowIdx = I.map((i) => (full ? `let r${i} = m0 + ${i};` : `let r${i} = min(m0 + ${i}, M - 1);`)).join(' ');
  const colIdx = J.map((j) => (full ? `let nn${j} = (n0 + ${j}) * sbn;` : `let nn${j} = min(n0 + ${j}, N - 1) * sbn;`)).join(' ');
  const store = (acc: (i: number, j: number) => string) =>
    I.map((i) => J.map((j) => guard(i, j, `Y[oy + (m0 + ${i}) * LDY + n0 + ${j}] = ${st(acc(i, j), `n0 + ${j}`)};`)).join('\n  ')).join('\n  ');
  let decl = I.map((i) => J.map((j) => `var c${i}_${j} = 0.0;`).join(' ')).join(' ');
  let body: string;
  let stores = store((i, j) => `c${i}_${j}`);
  if (layout === 'nn') {
    // acc c{i}_{h}: vec4 over columns n0 + 4h .. n0 + 4h + 3
    decl = I.map((i) => `var c${i}_0 = vec4<f32>(0.0); var c${i}_1 = vec4<f32>(0.0);`).join(' ');
    body = `${full ? 'let nb0 = n0 / 4; let nb1 = n0 / 4 + 1;' : 'let nb0 = min(n0 / 4, N / 4 - 1); let nb1 = min(n0 / 4 + 1, N / 4 - 1);'}
  for (var k = k0; k < k1; k++) {
    ${I.map((i) => `let a${i} = ${fa(`A[oa + r${i} * sam + k]`)};`).join(' ')}
    ${['x', 'y', 'z', 'w'].map((kc, kk) => `{ let br = ob + (k * 4 + ${kk}) * sbk;
      let b0 = ${fb('B[br + nb0]')}; let b1 = ${fb('B[br + nb1]')};
      ${I.map((i) => `c${i}_0 += a${i}.${kc} * b0; c${i}_1 += a${i}.${kc} * b1;`).join(' ')} }`).join('\n    ')}
  }`;
    stores = store((i, j) => `c${i}_${j >> 2}[${j & 3}]`);
  } else if (layout === 'nt') {
    body = `${colIdx}
  for (var k = k0; k < k1; k++) {
    ${I.map((i) => `let a${i} = ${fa(`A[oa + r${i} * sam + k]`)};`).join(' ')}
    ${J.map((j) => `{ let b = ${fb(`B[ob + nn${j} + k]`)}; ${I.map((i) => `c${i}_${j} += dot(a${i}, b);`).join(' ')} }`).join('\n    ')}
  }`;
  } else {
    body = `${colIdx}
  for (var k = k0; k < k1; k++) {
    ${I.map((i) => `let a${i} = ${fa(`A[oa + r${i} * sam + k * sak]`)};`).join(' ')}
    let bk = ob + k * sbk;
    ${J.map((j) => `{ let b = ${fb(`B[bk + nn${j}]`)}; ${I.map((i) => `c${i}_${j} += a${i} * b;`).join(' ')} }`).join('\n    ')}
  }`;
  }
  const code = `${head}
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
  return { code, groups: [Math.ceil(N / (TN * WGX)), Math.ceil(M / (TM * WGY)), s.zGroups] };
}
