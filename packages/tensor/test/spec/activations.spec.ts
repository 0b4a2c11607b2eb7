/** Parity rows: activations and softmax (act.* in ops.safetensors). */
import type { GoldenRow } from '@segllm/tensor/testing';
import type { Tensor } from '@segllm/tensor';
import { cosWeights } from './weights.ts';

const act = (name: string, kernels: string[], f: (x: Tensor) => Tensor): GoldenRow => ({
  case: `act.${name}`,
  inputs: { x: 'act.input' },
  kernels,
  run: ({ x }) => {
    const y = f(x);
    return { y, loss: y.mul(cosWeights(y)).sum() };
  },
  expect: { y: `act.${name}.out` },
  grads: { x: `act.${name}.grad` },
});

export const activationRows: GoldenRow[] = [
  act('gelu_erf', ['unary:gelu'], (x) => x.gelu()),
  act('gelu_tanh', ['unary:gelu_tanh'], (x) => x.gelu('tanh')),
  act('quick_gelu', ['unary:quick_gelu'], (x) => x.quickGelu()),
  act('silu', ['unary:silu'], (x) => x.silu()),
  act('sigmoid', ['unary:sigmoid'], (x) => x.sigmoid()),
  act('softmax', ['reduce', 'unary:exp'], (x) => x.softmax(-1)),
  act('log_softmax', ['reduce', 'unary:exp'], (x) => x.logSoftmax(-1)),
];
