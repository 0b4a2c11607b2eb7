/**
 * WebGPU kernel `adamw_step` (contract in optim/adamw.ts): inputs [grad]; outputs updated in place [param, exp_avg,
 * exp_avg_sq] (+ [max_exp_avg_sq] when attrs.amsgrad), all contiguous with equal element counts; f32 math.
 */
import { registerKernel } from '../../../kernels.ts';
import { bufOf, rt } from '../backend.ts';
import { Uniforms, enables, grid, linearIndex, loadAs, storageType, storeFrom, uniformDecl, uw, uwf } from '../codegen.ts';
import { withPrelude } from '../codegen.ts';

const WG = 64;

registerKernel(
  'webgpu',
  'adamw_step',
  ([grad], outs, a) => {
    const [param] = outs;
    const ams = outs.length > 3;
    const { lr, beta1, beta2, eps, weightDecay, step } = a;
    const n = param.shape.reduce((x, y) => x * y, 1);
    if (n === 0) return;
    const u = new Uniforms().i(n, grad.offset, param.offset, outs[1].offset, outs[2].offset, ams ? outs[3].offset : 0);
    u.f(1 - lr * weightDecay, lr / (1 - beta1 ** step), Math.sqrt(1 - beta2 ** step), beta1, beta2, eps);
    const t = storageType(param.dtype);
    const ld = (e: string) => loadAs(e, param.dtype, 'f32');
    const st = (e: string) => storeFrom(e, 'f32', param.dtype);
    let code = `${enables([param.dtype])}
@group(0) @binding(0) var<storage, read> G: array<${t}>;
@group(0) @binding(1) var<storage, read_write> P: array<${t}>;
@group(0) @binding(2) var<storage, read_write> Mv: array<${t}>;
@group(0) @binding(3) var<storage, read_write> Vv: array<${t}>;
${ams ? `@group(0) @binding(4) var<storage, read_write> X: array<${t}>;` : ''}
${uniformDecl(u, ams ? 5 : 4)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${linearIndex(WG)}
  if (idx >= u32(${uw(0)})) { return; }
  let i = i32(idx);
  let g = ${ld(`G[${uw(1)} + i]`)};
  let p = ${ld(`P[${uw(2)} + i]`)} * ${uwf(6)};
  let m0 = ${ld(`Mv[${uw(3)} + i]`)};
  let m = m0 + (1.0 - ${uwf(9)}) * (g - m0);
  let v = ${uwf(10)} * ${ld(`Vv[${uw(4)} + i]`)} + (1.0 - ${uwf(10)}) * g * g;
  Mv[${uw(3)} + i] = ${st('m')};
  Vv[${uw(4)} + i] = ${st('v')};
  var vd = v;
  ${ams ? `vd = max(${ld(`X[${uw(5)} + i]`)}, v); X[${uw(5)} + i] = ${st('vd')};` : ''}
  P[${uw(2)} + i] = ${st(`p - (${uwf(7)} * m) / (sqrt(vd) / ${uwf(8)} + ${uwf(11)})`)};
}`;
    const r = rt();
    code = withPrelude(code);
    r.dispatch(r.pipeline(code, () => code), [bufOf(grad), ...outs.map(bufOf)], u.data(), grid(n, WG));
  },
  { dtypes: ['float32', 'float16', 'bfloat16'] },
);
