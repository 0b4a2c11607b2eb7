/**
 * LLaVA's multimodal projector (llava/model/multimodal_projector/builder.py): `mlp2x_gelu` is
 * Sequential(Linear(mm_hidden_size, hidden_size), GELU (erf), Linear(hidden_size, hidden_size)) saved as
 * `mm_projector.0.*` and `mm_projector.2.*`; `linear` is a single Linear saved as `mm_projector.*`.
 */
import type { TensorStore } from '@segllm/tensor';
import { GELU, Linear, Sequential } from '../nn.ts';
import type { InitOptions, Layer } from '../nn.ts';
import { loadCheckpoint } from '../checkpoint/load.ts';
import type { LoadCheckpointReport } from '../checkpoint/load.ts';
import type { MmProjectorType } from './config.ts';

/** features [..., mm_hidden_size] -> [..., hidden_size]. */
export function buildProjector(type: MmProjectorType, mmHiddenSize: number, hiddenSize: number, opts: InitOptions = {}): Layer {
  if (type === 'linear') return new Linear(mmHiddenSize, hiddenSize, opts);
  return new Sequential(new Linear(mmHiddenSize, hiddenSize, opts), new GELU(), new Linear(hiddenSize, hiddenSize, opts));
}

/** Where checkpoints keep the projector: LLaVA/SegLLM (`model.mm_projector.`), a bare mm_projector.bin export, or none. */
export const PROJECTOR_KEY_PREFIXES = ['model.mm_projector.', 'mm_projector.', ''] as const;

export function loadProjector(projector: Layer, source: string | TensorStore, strict = true): Promise<LoadCheckpointReport> {
  return loadCheckpoint(projector, source, { prefixes: PROJECTOR_KEY_PREFIXES, strict });
}
