/** Parity rows: cross-entropy with ignore_index (ce.*) and the LISA/SegLLM mask loss (maskloss.*: BCE mean per mask + dice). */
import type { GoldenRow } from '@segllm/tensor/testing';
import { binaryCrossEntropyWithLogits, crossEntropy, diceLoss } from '@segllm/tensor';

export const lossRows: GoldenRow[] = [
  {
    case: 'ce',
    inputs: { logits: 'ce.logits', target: 'ce.target' },
    kernels: ['reduce', 'unary:exp'], // gather where present, else a one-hot selection
    run: ({ logits, target }) => {
      const loss = crossEntropy(logits, target, { ignoreIndex: -100 });
      return { loss, out: loss.reshape([1]) };
    },
    expect: { out: 'ce.loss' },
    grads: { logits: 'ce.grad.logits' },
  },
  {
    case: 'maskloss',
    inputs: { logits: 'maskloss.logits', target: 'maskloss.target' },
    kernels: ['reduce', 'unary:exp', 'unary:sigmoid'],
    run: ({ logits, target }) => {
      const bce = binaryCrossEntropyWithLogits(logits, target, { reduction: 'none' }).flatten(1).mean(1); // [masks]
      const dice = diceLoss(logits, target); // [masks]
      return { bce, dice, loss: bce.sum().add(dice.sum()) };
    },
    expect: { bce: 'maskloss.bce_per_mask', dice: 'maskloss.dice_per_mask' },
    grads: { logits: 'maskloss.grad.logits' },
  },
];
