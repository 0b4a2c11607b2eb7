/** Typed errors of @segllm/core; each message says what to do. */

export class SegLLMError extends Error {
  override name = 'SegLLMError';
}

/** `[REF:k]` names a round that does not exist yet (or the current round). */
export class InvalidReferenceError extends SegLLMError {
  override name = 'InvalidReferenceError';
  constructor(
    readonly ref: number,
    readonly round: number,
  ) {
    super(
      round === 1
        ? `[REF:${ref}] in round 1: the first round has no earlier output to refer to; ask without a reference first`
        : `[REF:${ref}] in round ${round}: only rounds 1..${round - 1} have outputs to refer to`,
    );
  }
}

export class EmptyPromptError extends SegLLMError {
  override name = 'EmptyPromptError';
  constructor() {
    super('the prompt is empty (after removing [REF:k] tags): say what to segment, e.g. "Segment the dog."');
  }
}

export class ContextLengthError extends SegLLMError {
  override name = 'ContextLengthError';
  constructor(
    readonly tokens: number,
    readonly limit: number,
    /** `tokens` is a lower bound (counting stopped past the limit). */
    readonly atLeast = false,
  ) {
    super(`the conversation would be ${atLeast ? 'more than ' : ''}${atLeast ? limit : tokens} tokens, over the model's context of ${limit}: call session.reset() or undo() earlier rounds`);
  }
}

export class CheckpointError extends SegLLMError {
  override name = 'CheckpointError';
}
