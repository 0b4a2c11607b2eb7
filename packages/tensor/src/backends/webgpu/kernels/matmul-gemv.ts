/**
 * The GEMV tier (M <= 4, decode-shaped products): the A rows stay in registers.
 *  - `nn` (B vec4 along N): one thread per 4 output columns;
 *  - `nt` (transposed weights, B vec4 along K as in linear): one thread per column, or, on GPU adapters
 *    (`wgColumn`), one workgroup per column whose 64 threads split K into contiguous vec4 runs of the weight row
 *    (coalesced), then a tree sum of the (up to 4) row partials;
 *  - `scalar`: one thread per column at any strides.
 */
import type { GemmShader } from './matmul-reg.ts';
import { tierGroups, type Tier } from './matmul-tier.ts';

export function gemvShader(s: GemmShader, t: Extract<Tier, { kind: 'gemv' }>): { code: string; groups: [number, number, number] } {
  const { head, prologue, M, N, st, fa, fb } = s;
  const rows = Array.from({ length: M }, (_, i) => i);
  const [gx, gy] = tierGroups(t, M, N);
  if (t.wgColumn) {
    const lanes = ['x', 'y', 'z', 'w'];
    const code = `${head}
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
    return { code, groups: [gx, gy, s.zGroups] };
  }
  const nn = t.layout === 'nn';
  const accT = nn ? 'vec4<f32>' : 'f32';
  const step: Record<typeof t.layout, (i: number) => string> = {
    nn: (i) => `c${i} += f32(A[oa + ${i} * sam + k / 4][k % 4]) * bv;`,
    nt: (i) => `c${i} += dot(${fa(`A[oa + ${i} * sam + k]`)}, bv);`,
    scalar: (i) => `c${i} += ${fa(`A[oa + ${i} * sam + k * sak]`)} * bv;`,
  };
  const bLoad = { nn: 'B[ob + k * sbk + n4]', nt: 'B[ob + n * sbn + k]', scalar: 'B[ob + k * sbk + n * sbn]' }[t.layout];
  const stores = nn
    ? rows.map((i) => [0, 1, 2, 3].map((j) => `Y[oy + ${i} * LDY + n + ${j}] = ${st(`c${i}[${j}]`, `n + ${j}`)};`).join(' ')).join('\n  ')
    : rows.map((i) => `Y[oy + ${i} * LDY + n] = ${st(`c${i}`, 'n')};`).join('\n  ');
  const code = `${head}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${prologue}
  let n = i32(wid.x * 64u + li) * ${nn ? 4 : 1};
  if (n >= N) { return; }
  let n4 = n / 4;
  ${rows.map((i) => `var c${i}: ${accT} = ${accT}(0.0);`).join(' ')}
  for (var k = k0; k < k1; k++) {
      let bv = ${fb(bLoad)};
      ${rows.map(step[t.layout]).join('\n      ')}
    }
  ${stores}
}`;
  return { code, groups: [gx, gy, s.zGroups] };
}
