/** Which errors are the user's to fix (printed as one line, exit code 1) rather than bugs (stack trace). */
import { DirReplaceError, SegLLMConfigError, SegLLMError } from '@segllm/core';
import { EvalInputError, TrainCheckpointError, TrainConfigError, TrainDataError, TrainStepError } from '@segllm/core/train';
import {
  CheckpointKeyError, CheckpointNotFoundError, ConfigError, ImageDecodeError, PreprocessError, TokenizerConfigError,
} from '@segllm/models';
import { AnnotationFormatError, ConversationFormatError, JsonStreamError, MaskFormatError, MaskSizeMismatchError, MetricsInputError, PickleError, PngFormatError } from '@segllm/mrseg';
import { CheckpointDTypeError, SafetensorsError, StateDictError, WebGPUUnavailableError } from '@segllm/tensor';
import { CliUsageError } from './args.ts';

const USER_ERRORS = [
  SegLLMError, SegLLMConfigError, ImageDecodeError, PreprocessError, ConfigError, CheckpointKeyError, CheckpointNotFoundError, TokenizerConfigError,
  ConversationFormatError, AnnotationFormatError, MaskFormatError, MaskSizeMismatchError, MetricsInputError, WebGPUUnavailableError,
  TrainConfigError, TrainDataError, TrainCheckpointError, TrainStepError, EvalInputError,
  SafetensorsError, DirReplaceError, JsonStreamError, PickleError, PngFormatError, CheckpointDTypeError, StateDictError,
];

export function isUserError(e: unknown): e is Error {
  return USER_ERRORS.some((C) => e instanceof C);
}

/** Runs a command body: usage errors -> 2 (message + usage), user errors -> 1 (message), anything else propagates. */
export async function guard(name: string, usage: string, err: (s: string) => void, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CliUsageError) {
      err(`segllm ${name}: ${e.message}\n${usage}`);
      return 2;
    }
    if (isUserError(e)) {
      err(`segllm ${name}: ${e.name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
