/** A `tokenizer.json` that is malformed or uses a feature this loader does not implement. */
export class TokenizerConfigError extends Error {
  override readonly name = 'TokenizerConfigError';
  /** JSON path of the offending field, e.g. `model.merges[12]`. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(
      `tokenizer.json field "${field}": ${problem}. ` +
        'Pass the tokenizer.json saved by HF `tokenizers`/`transformers` (LLaMA-style BPE with Metaspace), ' +
        'e.g. `tokenizer.backend_tokenizer.save(path)`.',
    );
    this.field = field;
  }
}

/** Ids passed to `decode` that are not in the vocabulary. */
export class TokenizerDecodeError extends Error {
  override readonly name = 'TokenizerDecodeError';
  constructor(message: string) {
    super(message);
  }
}
