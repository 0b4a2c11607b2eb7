/** Every parity row against ops.safetensors; each op family adds its rows file here (one line). */
import type { GoldenRow } from '@segllm/tensor/testing';
import { activationRows } from './activations.spec.ts';
import { lossRows } from './losses.spec.ts';
import { normsAttentionRows } from './norms-attention.spec.ts';
import { spatialRows } from './spatial.spec.ts';

export const GOLDEN_ROWS: GoldenRow[] = [
  ...activationRows,
  ...lossRows,
  ...normsAttentionRows,
  ...spatialRows,
];
