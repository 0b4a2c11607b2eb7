export { Tokenizer } from './tokenizer.ts';
export type { DecodeOptions, EncodeOptions, Encoding } from './tokenizer.ts';
export { TokenizerConfigError, TokenizerDecodeError } from './errors.ts';
export { parseTokenizerJson } from './config.ts';
export type { AddedToken, TokenizerSpec } from './config.ts';
