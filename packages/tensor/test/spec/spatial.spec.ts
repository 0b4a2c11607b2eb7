/**
 * Parity rows: conv2d variants, max-pool, bilinear resize, grid_sample and deformable attention in ops.safetensors.
 * Sizes (channels, groups, kernel, resize targets, deformable-attention levels) come from the file's tensors; the
 * constants left are the ops' parameters that a case name stands for (stride, padding, dilation, pooling window).
 */
import type { GoldenRow } from '@segllm/tensor/testing';
import { conv2d, gridSample, interpolate, maxPool2d, msDeformAttn } from '@segllm/tensor';
import { cosWeights, linspaceWeights } from './weights.ts';

/** make_goldens.py's conv table: name -> (stride, padding, dilation); kernel and groups come from the weight. */
const CONVS: [string, number, number, number][] = [
  ['conv3x3s1', 1, 1, 1],
  ['conv3x3s2', 2, 1, 1],
  ['conv7x7s2', 2, 3, 1],
  ['conv1x1', 1, 0, 1],
  ['conv3x3d2', 1, 2, 2],
  ['conv3x3g4', 1, 1, 1],
  ['patch14', 14, 0, 1],
];

const convRows: GoldenRow[] = CONVS.map(([name, stride, padding, dilation]) => ({
  case: name,
  inputs: { x: `${name}.input`, weight: `${name}.weight`, bias: `${name}.bias` },
  kernels: ['conv2d', 'conv2d_grad_input', 'conv2d_grad_weight'],
  run: ({ x, weight, bias }) => {
    const groups = x.shape[1] / weight.shape[1]; // x [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW]
    const y = conv2d(x, weight, bias, { stride, padding, dilation, groups });
    return { y, loss: y.mul(cosWeights(y)).sum() };
  },
  expect: { y: `${name}.out` },
  grads: { x: `${name}.grad.input`, weight: `${name}.grad.weight`, bias: `${name}.grad.bias` },
}));

export const spatialRows: GoldenRow[] = [
  ...convRows,
  {
    case: 'maxpool',
    inputs: { x: 'maxpool.input' },
    kernels: ['max_pool2d', 'max_pool2d_backward'],
    run: ({ x }) => {
      const y = maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
      return { y, loss: y.sum() };
    },
    expect: { y: 'maxpool.out' },
    grads: { x: 'maxpool.grad.input' },
  },
  {
    case: 'interp',
    inputs: { x: 'interp.input' },
    kernels: ['interpolate', 'interpolate_backward'],
    run: ({ x }, g) => {
      const size = (key: string) => g.get(key).shape.slice(2) as [number, number]; // [N, C, H, W] -> [H, W]
      const up = interpolate(x, { size: size('interp.up28x36'), mode: 'bilinear', alignCorners: false });
      const dn = interpolate(x, { size: size('interp.down4x5'), mode: 'bilinear', alignCorners: false });
      return { up, dn, loss: up.square().sum().add(dn.sum()) };
    },
    expect: { up: 'interp.up28x36', dn: 'interp.down4x5' },
    grads: { x: 'interp.grad.input' },
  },
  {
    case: 'grid_sample',
    inputs: { x: 'grid_sample.input', grid: 'grid_sample.grid' },
    kernels: ['grid_sample', 'grid_sample_backward'],
    run: ({ x, grid }) => {
      const y = gridSample(x, grid, { mode: 'bilinear', paddingMode: 'zeros', alignCorners: false });
      return { y, loss: y.mul(linspaceWeights(y)).sum() };
    },
    expect: { y: 'grid_sample.out' },
    grads: { x: 'grid_sample.grad.input', grid: 'grid_sample.grad.grid' },
  },
  {
    case: 'msdeform',
    inputs: { value: 'msdeform.value', loc: 'msdeform.sampling_locations', attw: 'msdeform.attention_weights' },
    params: { shapes: 'msdeform.spatial_shapes' }, // [L, 2]: (H, W) per level
    kernels: ['ms_deform_attn', 'ms_deform_attn_backward'],
    run: ({ value, loc, attw }, _g, p) => {
      const levels = Array.from({ length: p.shapes.length / 2 }, (_, l) => [p.shapes[2 * l], p.shapes[2 * l + 1]] as [number, number]);
      const y = msDeformAttn(value, levels, loc, attw);
      return { y, loss: y.mul(linspaceWeights(y)).sum() };
    },
    expect: { y: 'msdeform.out' },
    grads: { value: 'msdeform.grad.value', loc: 'msdeform.grad.sampling_locations', attw: 'msdeform.grad.attention_weights' },
  },
];
