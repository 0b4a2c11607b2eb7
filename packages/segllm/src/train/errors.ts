/** Typed errors of training-sample construction: each names the conversation file and id, and says what to do. */
import { SegLLMError } from '../errors.ts';

export type TrainSampleProblem =
  | 'missing-image'
  | 'bad-image'
  | 'unknown-annotation'
  | 'empty-mask'
  | 'too-long'
  | 'label-mismatch'
  | 'format';

const ADVICE: Record<TrainSampleProblem, string> = {
  'missing-image': 'check --images and the [IMAGE256:...] path',
  'bad-image': 'the file is not a readable PNG or JPEG; re-export it',
  'unknown-annotation': 'the conversation and annotation files do not belong together; regenerate one of them',
  'empty-mask': 'drop the conversation or fix its annotation (the official loss asserts non-empty targets)',
  'too-long': 'shorten the conversation (fewer rounds) or raise the context',
  'label-mismatch': 'the tokenizer does not balance the official label arithmetic; use the checkpoint tokenizer.json',
  format: 'fix the conversation markup (see packages/mrseg/README.md, "Conversation JSON")',
};

/** One training conversation that cannot become a sample; datasets count these as skips instead of crashing. */
export class TrainSampleError extends SegLLMError {
  override name = 'TrainSampleError';
  constructor(
    readonly problem: TrainSampleProblem,
    readonly file: string,
    readonly convId: string,
    detail: string,
  ) {
    super(`${file}, conversation ${convId}: ${detail} (${problem}: ${ADVICE[problem]})`);
  }
}

/** A dataset or sampler cannot be opened or resumed (bad files, bad options, a state from another dataset). */
export class TrainDataError extends SegLLMError {
  override name = 'TrainDataError';
}
