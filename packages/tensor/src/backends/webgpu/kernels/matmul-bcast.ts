/**
 * The matmul tier for CPU adapters with subgroups (lavapipe, SwiftShader): "broadcast GEMM".
 *
 * Lavapipe turns every storage-buffer load into one bounds-checked scalar load per lane and component (a vec4 load
 * costs four, a contiguous or uniform address gains nothing), while subgroup operations are register shuffles. So
 * loads, not arithmetic, bound a GEMM there, and the way to cut them is to load each A element once per subgroup:
 * the S lanes of a subgroup share TM rows of A and own TN consecutive output columns each; per step of S values of
 * k, lane l loads A[row, k + l] (TM loads), then for each of the S values of k it broadcasts A with
 * `subgroupBroadcast` and loads its TN values of B. Per k and lane that is TM / S + TN loads for TM x TN
 * multiply-adds (4x8 register blocking straight from memory: 12 loads for 32). Any strides (scalar loads cost the
 * same as vec4 there), so NN, NT (linear) and strided operands share one kernel.
 *
 * This assumes a subgroup is S consecutive local invocation indices, as everywhere in practice (see README).
 */
import { rt } from '../backend.ts';

/** Rows per subgroup, columns per lane, subgroups per workgroup. */
export const BCAST = {
  TM: 8,
  TN: 4,
  subgroups: 4,
  /** A read as vec4 along K (four k per lane): 4 x TM live vec4 registers spill on lavapipe (measured slower). */
  aVec: false,
  /** Off: the register-tiled GEMM everywhere (scripts compare the two). */
  enabled: true,
};

/** The tier's tile, or null when it does not apply (GPU adapters, no subgroups, or an unknown or variable size). */
export function bcastTile(): { S: number; TM: number; TN: number; NSG: number } | null {
  const r = rt();
  if (!BCAST.enabled || !r.cpuAdapter || !r.useSubgroups) return null;
  const lo = Number(r.adapterInfo.subgroupMinSize);
  const hi = Number(r.adapterInfo.subgroupMaxSize);
  if (!(lo > 0) || lo !== hi || lo > 64 || lo % 4 !== 0) return null;
  return { S: lo, TM: BCAST.TM, TN: BCAST.TN, NSG: BCAST.subgroups };
}

/** How the tier reads B: vec4 along N (`nn`), vec4 along K (`nt`, transposed weights as in linear), or scalars. */
export type BcastB = 'nn' | 'nt' | 'scalar';

/**
 * B read through caller code instead of B[k * sbk + col] (conv2d's im2col addressing): `cols` (WGSL, after n0 is
 * known) sets up per-column state for columns n0 + j (clamped to N - 1 when N is not a multiple of S * TN), `k(k, t)`
 * declares per-k values with suffix t (the same for all lanes), `b(t, j)` is the f32 value of B[k, column n0 + j].
 */
export interface BcastGather {
  cols: string;
  k: (k: string, t: string) => string;
  b: (t: string, j: number) => string;
}

/**
 * The shader body (after the caller's `head`, which declares A (vec4 when `aVec`: vec4 along K), B (vec4 unless
 * `bMode` is scalar) and Y, and its `prologue`, which defines M K N LDY sam sak sbk sbn k0 k1 oa ob oy, offsets and
 * strides in units of the array element) and the workgroup grid. `store(row, col, value)` writes one output. k0
 * must be a multiple of 4 when A or B is read as vec4 along K.
 */
export function bcastGemm(
  head: string,
  prologue: string,
  tile: { S: number; TM: number; TN: number; NSG: number },
  M: number,
  N: number,
  zGroups: number,
  aVec: boolean,
  bMode: BcastB,
  store: (row: string, col: string, v: string) => string,
  gather?: BcastGather,
): { code: string; groups: [number, number, number] } {
  const { S, TM, TN, NSG } = tile;
  const I = Array.from({ length: TM }, (_, i) => i);
  const J = Array.from({ length: TN }, (_, j) => j);
  const C = [0, 1, 2, 3];
  const acc = (i: number, j: number) => `c${i}_${j}`;
  const fullM = M % (TM * NSG) === 0;
  const fullN = N % (TN * S) === 0;
  const v4 = (e: string) => `vec4<f32>(${e})`;
  // Per step of the main loop, lane l holds A[row, k + 4l .. 4l + 3] (aVec) or A[row, k + l]; each quad q of k
  // values (k + 4q .. k + 4q + 3) broadcasts lane q's vec4, or lanes 4q .. 4q + 3.
  const KS = aVec ? 4 * S : S;
  const quads = KS / 4;
  const loadB = (base: string): { decl: string; b: (c: number, j: number) => string } => {
    if (gather) return { decl: C.map((c) => gather.k(`${base} + ${c}`, `${c}`)).join(' '), b: (c, j) => gather.b(`${c}`, j) };
    if (bMode === 'nt') return { decl: J.map((j) => `let bq${j} = ${v4(`B[cb${j} + (${base}) / 4]`)};`).join(' '), b: (c, j) => `bq${j}[${c}]` };
    if (bMode === 'nn') return { decl: C.map((c) => `let bn${c} = ${v4(`B[(${base} + ${c}) * sbk + cb]`)};`).join(' '), b: (c, j) => `bn${c}[${j}]` };
    return {
      decl: C.map((c) => J.map((j) => `let bs${c}_${j} = f32(B[(${base} + ${c}) * sbk + cb${j}]);`).join(' ')).join(' '),
      b: (c, j) => `bs${c}_${j}`,
    };
  };
  const quad = (q: number) => {
    const { decl, b } = loadB(`k + ${4 * q}`);
    const sv = (i: number, c: number) => (aVec ? `s${i}[${c}]` : `s${i}_${c}`);
    const bc = I.map((i) =>
      aVec ? `let s${i} = subgroupBroadcast(a${i}, ${q}u);` : C.map((c) => `let s${i}_${c} = subgroupBroadcast(a${i}, ${4 * q + c}u);`).join(' '),
    ).join(' ');
    const fmas = C.map((c) => I.map((i) => J.map((j) => `${acc(i, j)} += ${sv(i, c)} * ${b(c, j)};`).join(' ')).join(' ')).join('\n      ');
    return `{ ${decl}\n      ${bc}\n      ${fmas} }`;
  };
  const colIdx = (j: number) => (fullN ? `(n0 + ${j})` : `min(n0 + ${j}, N - 1)`);
  const cols = gather
    ? gather.cols
    : bMode === 'nn'
      ? `let cb = ob + ${fullN ? 'n0' : 'min(n0, N - 4)'} / 4;` // TN == 4 columns: one vec4 (N % 4 == 0)
      : J.map((j) => `let cb${j} = ob + ${colIdx(j)} * sbn;`).join(' ');
  const tailB = (j: number) => (bMode === 'nn' ? `f32(B[k * sbk + cb][${j}])` : bMode === 'nt' ? `f32(B[cb${j} + k / 4][k % 4])` : `f32(B[k * sbk + cb${j}])`);
  const tailA = (i: number) => (aVec ? `f32(A[ra${i} + k / 4][k % 4])` : `f32(A[ra${i} + k * sak])`);
  const code = `enable subgroups;
${head}
@compute @workgroup_size(${S * NSG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  ${prologue}
  let l = i32(lane);
  let m0 = (i32(wid.y) * ${NSG} + i32(li / ${S}u)) * ${TM};
  let n0 = i32(wid.x) * ${S * TN} + l * ${TN};
  ${I.map((i) => `let ra${i} = oa + ${fullM ? `(m0 + ${i})` : `min(m0 + ${i}, M - 1)`} * sam;`).join(' ')}
  ${cols}
  ${I.map((i) => J.map((j) => `var ${acc(i, j)} = 0.0;`).join(' ')).join('\n  ')}
  let kf = k0 + ((k1 - k0) / ${KS}) * ${KS};
  for (var k = k0; k < kf; k += ${KS}) {
    ${I.map((i) => (aVec ? `let a${i} = ${v4(`A[ra${i} + k / 4 + l]`)};` : `let a${i} = f32(A[ra${i} + (k + l) * sak]);`)).join(' ')}
    ${Array.from({ length: quads }, (_, q) => quad(q)).join('\n    ')}
  }
  for (var k = kf; k < k1; k++) {
    ${gather ? gather.k('k', 't') : ''} ${J.map((j) => `let b${j} = ${gather ? gather.b('t', j) : tailB(j)};`).join(' ')}
    ${I.map((i) => `{ let a = ${tailA(i)}; ${J.map((j) => `${acc(i, j)} += a * b${j};`).join(' ')} }`).join('\n    ')}
  }
  ${I.map((i) =>
    J.map((j) => {
      const st = store(`m0 + ${i}`, `n0 + ${j}`, acc(i, j));
      return fullM && fullN ? st : `if (m0 + ${i} < M && n0 + ${j} < N) { ${st} }`;
    }).join('\n  '),
  ).join('\n  ')}
}`;
  return { code, groups: [Math.ceil(N / (S * TN)), Math.ceil(M / (TM * NSG)), zGroups] };
}
