/**
 * WebGPU row kernels (contracts in ops/norm/norm.ts and ops/cumsum/cumsum.ts): `norm_rows`, `norm_rows_backward`
 * (one workgroup per row, two-pass mean/variance in f32) and `cumsum` (one thread per line, sequential).
 */
import { registerKernel } from '../../../kernels.ts';
import { isFloatD, loadAs, storeFrom } from '../codegen.ts';
import { rt } from '../backend.ts';
import { groupFnSg, groupSum, launch } from './launch.ts';

const WG = 64;
const RED = `var<workgroup> red: array<f32, ${WG}>;`;
const F = ['float32', 'float16', 'bfloat16'] as const;

/** Subgroup or workgroup-memory row sums (see GpuRuntime.useSubgroups). */
function rowOpts(): { perGroup: true; wg: number; decl: string; subgroups: boolean } {
  const sg = rt().useSubgroups;
  rt().variant(sg ? 'norm_rows:subgroup' : 'norm_rows:workgroup');
  return { perGroup: true, wg: WG, decl: sg ? groupFnSg('sum', WG) : RED, subgroups: sg };
}

registerKernel(
  'webgpu',
  'norm_rows',
  ([x], [y, rstd], attrs) => {
    const [R, N] = x.shape;
    const rms = attrs.rms;
    const opts = rowOpts();
    const ld = (e: string) => loadAs(e, x.dtype, 'f32');
    launch(
      [x],
      [y, rstd],
      R,
      (u) => {
        const ni = u.index;
        u.i(N).f(attrs.eps);
        return `let N = ${`u.m[${ni >> 2}].${'xyzw'[ni & 3]}`}; let eps = bitcast<f32>(u.m[${(ni + 1) >> 2}].${'xyzw'[(ni + 1) & 3]});
  let row = i32(idx) * N;
  var mean = 0.0;
  ${rms ? '' : `var s = 0.0;
  for (var i = i32(li); i < N; i += ${WG}) { s += ${ld('in0[b0 + row + i]')}; }
  ${groupSum('s', WG, 'tot', opts.subgroups)}
  mean = tot / f32(N);`}
  var ss = 0.0;
  for (var i = i32(li); i < N; i += ${WG}) { let d = ${ld('in0[b0 + row + i]')} - mean; ss += d * d; }
  ${groupSum('ss', WG, 'tss', opts.subgroups)}
  let inv = 1.0 / sqrt(tss / f32(N) + eps);
  if (li == 0u) { out1[b2 + i32(idx)] = ${storeFrom('inv', 'f32', rstd.dtype)}; }
  for (var i = i32(li); i < N; i += ${WG}) { out0[b1 + row + i] = ${storeFrom(`(${ld('in0[b0 + row + i]')} - mean) * inv`, 'f32', y.dtype)}; }`;
      },
      opts,
    );
  },
  { dtypes: [...F] },
);

registerKernel(
  'webgpu',
  'norm_rows_backward',
  ([g, y, rstd], [dx], attrs) => {
    const [R, N] = g.shape;
    const rms = attrs.rms;
    const opts = rowOpts();
    const lg = (e: string) => loadAs(e, g.dtype, 'f32');
    const ly = (e: string) => loadAs(e, y.dtype, 'f32');
    launch(
      [g, y, rstd],
      [dx],
      R,
      (u) => {
        const ni = u.index;
        u.i(N);
        return `let N = u.m[${ni >> 2}].${'xyzw'[ni & 3]};
  let row = i32(idx) * N;
  var sg = 0.0; var sgy = 0.0;
  for (var i = i32(li); i < N; i += ${WG}) { let gv = ${lg('in0[b0 + row + i]')}; sg += gv; sgy += gv * ${ly('in1[b1 + row + i]')}; }
  ${groupSum('sg', WG, 'tg', opts.subgroups)}
  ${groupSum('sgy', WG, 'tgy', opts.subgroups)}
  let mg = ${rms ? '0.0' : 'tg / f32(N)'}; let mgy = tgy / f32(N);
  let r = ${loadAs('in2[b2 + i32(idx)]', rstd.dtype, 'f32')};
  for (var i = i32(li); i < N; i += ${WG}) {
    out0[b3 + row + i] = ${storeFrom(`r * (${lg('in0[b0 + row + i]')} - mg - ${ly('in1[b1 + row + i]')} * mgy)`, 'f32', dx.dtype)};
  }`;
      },
      opts,
    );
  },
  { dtypes: [...F] },
);

registerKernel('webgpu', 'cumsum', ([x], [y], attrs) => {
  const dim = attrs.dim;
  const reverse = attrs.reverse;
  const pre = x.shape.slice(0, dim).reduce((a, d) => a * d, 1);
  const S = x.shape[dim];
  const post = x.shape.slice(dim + 1).reduce((a, d) => a * d, 1);
  const ct = isFloatD(x.dtype) ? 'f32' : 'i32';
  launch([x], [y], pre * post, (u) => {
    const si = u.index;
    u.i(S, post);
    const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;
    return `let S = ${w(si)}; let post = ${w(si + 1)};
  let p = i32(idx) / post; let q = i32(idx) % post;
  var acc = ${ct}(0);
  for (var t = 0; t < S; t++) {
    let j = ${reverse ? 'S - 1 - t' : 't'};
    let o = (p * S + j) * post + q;
    acc += ${loadAs('in0[b0 + o]', x.dtype, ct)};
    out0[b1 + o] = ${storeFrom('acc', ct, y.dtype)};
  }`;
  });
});
