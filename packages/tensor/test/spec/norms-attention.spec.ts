/**
 * Parity rows: layernorm, groupnorm, sdpa (causal and full), rope (HF rotate_half) in ops.safetensors. Sizes come
 * from the file's tensors; the constants left are the ops' parameters in make_goldens.py (eps, 32 groups, theta).
 */
import type { GoldenRow } from '@segllm/tensor/testing';
import { applyRotaryEmb, groupNorm, layerNorm, rotaryCosSin, scaledDotProductAttention } from '@segllm/tensor';
import { sinWeights } from './weights.ts';

export const normsAttentionRows: GoldenRow[] = [
  {
    case: 'layernorm',
    inputs: { x: 'act.input', weight: 'layernorm.weight', bias: 'layernorm.bias' },
    kernels: ['norm_rows', 'norm_rows_backward'],
    run: ({ x, weight, bias }) => {
      const y = layerNorm(x, weight.shape, weight, bias, 1e-5); // normalized over the weight's shape
      return { y, loss: y.mul(y.detach().sign()).sum() };
    },
    expect: { y: 'layernorm.out' },
    grads: { x: 'layernorm.grad.input', weight: 'layernorm.grad.weight', bias: 'layernorm.grad.bias' },
  },
  {
    case: 'groupnorm',
    inputs: { x: 'groupnorm.input', weight: 'groupnorm.weight', bias: 'groupnorm.bias' },
    kernels: ['norm_rows', 'norm_rows_backward'],
    run: ({ x, weight, bias }) => {
      const y = groupNorm(x, 32, weight, bias, 1e-5);
      return { y, loss: y.mul(sinWeights(y)).sum() };
    },
    expect: { y: 'groupnorm.out' },
    grads: { x: 'groupnorm.grad.input', weight: 'groupnorm.grad.weight', bias: 'groupnorm.grad.bias' },
  },
  {
    case: 'sdpa',
    inputs: { q: 'sdpa.q', k: 'sdpa.k', v: 'sdpa.v' },
    kernels: ['sdpa', 'matmul', 'reduce'],
    run: ({ q, k, v }) => {
      const causal = scaledDotProductAttention(q, k, v, { isCausal: true });
      const full = scaledDotProductAttention(q, k, v);
      return { causal, full, loss: causal.square().sum().add(full.mul(0.5).sum()) };
    },
    expect: { causal: 'sdpa.causal', full: 'sdpa.full' },
    grads: { q: 'sdpa.grad.q', k: 'sdpa.grad.k', v: 'sdpa.grad.v' },
  },
  {
    case: 'rope',
    inputs: { x: 'rope.input' },
    kernels: ['unary:cos', 'unary:sin'],
    run: ({ x }) => {
      const [seq, dim] = x.shape.slice(-2); // x [B, H, T, D]: positions 0..T-1, head dim D
      const { cos, sin } = rotaryCosSin(Array.from({ length: seq }, (_, i) => i), dim, 10000, { backend: x.backend });
      return { y: applyRotaryEmb(x, cos, sin) };
    },
    expect: { y: 'rope.out' },
  },
];
