/**
 * A HF `tokenizer.json` tokenizer for LLaMA-family models (SentencePiece BPE with byte fallback), reproducing
 * `tokenizers`' encode/decode: added tokens split atomically, normalizer, Metaspace pre-tokenizer (prepend scheme,
 * split), BPE, TemplateProcessing (BOS), and the decoder chain (Replace, ByteFallback, Fuse, Strip, Metaspace).
 */
import { AddedTokenMatcher } from './added.ts';
import { BpeModel } from './bpe.ts';
import { parseTokenizerJson } from './config.ts';
import type { AddedToken, MetaspaceSpec, NormalizerStep, TokenizerSpec } from './config.ts';
import { runDecoders } from './decode.ts';
import { TokenizerConfigError, TokenizerDecodeError } from './errors.ts';

export interface EncodeOptions {
  /** Apply the post-processor template (BOS for LLaMA). Default true, as HF. */
  addSpecialTokens?: boolean;
  /**
   * Stop once more than this many ids were produced (the result then has more than `maxTokens` ids but not all of
   * them): a length check that does not tokenize all of a huge text.
   */
  maxTokens?: number;
}

export interface DecodeOptions {
  /** Drop added tokens flagged `special` (`<s>`, `</s>`, `<video>`, `<seg>`...). Default false, as HF. */
  skipSpecialTokens?: boolean;
}

export interface Encoding {
  ids: number[];
  tokens: string[];
}

/** dst.push(...src) without the argument-count limit of a spread (texts of 100k+ tokens). */
function append(dst: number[], src: readonly number[]): void {
  for (const x of src) dst.push(x);
}

function normalize(text: string, steps: readonly NormalizerStep[]): string {
  let s = text;
  for (const n of steps) {
    if (n.type === 'Prepend') s = s.length > 0 ? n.prepend + s : s;
    else if (n.type === 'Replace') s = s.replaceAll(n.pattern, n.content);
    else s = s.normalize(n.type);
  }
  return s;
}

/** Metaspace pre-tokenization of one text segment; `atOrigin`: the segment starts at offset 0 of the input. */
function metaspace(text: string, m: MetaspaceSpec, atOrigin: boolean): string[] {
  let s = text.replaceAll(' ', m.replacement);
  const prepend = m.prependScheme === 'always' || (m.prependScheme === 'first' && atOrigin);
  if (prepend && !s.startsWith(m.replacement)) s = m.replacement + s;
  if (!m.split) return [s];
  // Split with the delimiter merged into the following piece ("a▁b▁▁c" -> "a", "▁b", "▁", "▁c").
  const out: string[] = [];
  let start = 0;
  for (let i = 1; i < s.length; i++) {
    if (s[i] === m.replacement) {
      out.push(s.slice(start, i));
      start = i;
    }
  }
  out.push(s.slice(start));
  return out.filter((p) => p.length > 0);
}

export class Tokenizer {
  private readonly model: BpeModel;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  /** Number of distinct tokens, added ones included (HF `len(tokenizer)`). */
  readonly vocabSize: number;

  private constructor(private readonly spec: TokenizerSpec) {
    this.model = new BpeModel(spec.model);
    for (const t of spec.added) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    this.rawMatcher = new AddedTokenMatcher(spec.added.filter((t) => !t.normalized));
    // As HF, `normalized` tokens are matched in normalized text by their normalized content.
    this.normalizedMatcher = new AddedTokenMatcher(
      spec.added.filter((t) => t.normalized).map((t) => ({ ...t, content: normalize(t.content, spec.normalizers) })),
    );
    const ids = new Set<number>(spec.model.vocab.values());
    for (const t of spec.added) ids.add(t.id);
    this.vocabSize = ids.size;
  }

  /** Builds a tokenizer from a parsed tokenizer.json value. */
  static fromJSON(json: unknown): Tokenizer {
    return new Tokenizer(parseTokenizerJson(json));
  }

  /** Builds a tokenizer from the text of a tokenizer.json file. */
  static fromString(text: string): Tokenizer {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TokenizerConfigError('(root)', `not valid JSON (${(e as Error).message})`);
    }
    return Tokenizer.fromJSON(json);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  #maxTokenLength = 0;

  /** The longest token string (vocabulary or added), in UTF-16 units: a text has at least length / this many tokens. */
  get maxTokenLength(): number {
    if (this.#maxTokenLength === 0) {
      for (const t of this.model.idToToken.values()) this.#maxTokenLength = Math.max(this.#maxTokenLength, t.length);
      for (const t of this.addedById.values()) this.#maxTokenLength = Math.max(this.#maxTokenLength, t.content.length);
    }
    return this.#maxTokenLength;
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken.get(id);
  }

  /** Token ids of `text` (with BOS when the template adds it and `addSpecialTokens` is not false). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeWithTokens(text, options).ids;
  }

  encodeWithTokens(text: string, options: EncodeOptions = {}): Encoding {
    const ids: number[] = [];
    const max = options.maxTokens ?? Infinity;
    for (const seg of this.rawMatcher.split(text)) {
      if (ids.length > max) break;
      if (seg.token !== null) {
        ids.push(seg.token.id);
        continue;
      }
      const normalized = normalize(text.slice(seg.start, seg.end), this.spec.normalizers);
      for (const sub of this.normalizedMatcher.split(normalized)) {
        if (sub.token !== null) {
          ids.push(sub.token.id);
          continue;
        }
        const piece = normalized.slice(sub.start, sub.end);
        const atOrigin = seg.start === 0 && sub.start === 0;
        const words = this.spec.preTokenizer === null ? [piece] : metaspace(piece, this.spec.preTokenizer, atOrigin);
        for (const w of words) {
          if (ids.length > max) break;
          append(ids, this.model.tokenize(w));
        }
      }
    }
    const withSpecial = this.applyTemplate(ids, options.addSpecialTokens ?? true);
    return { ids: withSpecial, tokens: withSpecial.map((i) => this.idToToken(i)!) };
  }

  private applyTemplate(ids: number[], addSpecial: boolean): number[] {
    const post = this.spec.postProcessor;
    if (post === null || !addSpecial) return ids;
    const out: number[] = [];
    for (const piece of post.single) {
      append(out, piece.kind === 'sequence' ? ids : post.specialTokens.get(piece.id)!);
    }
    return out;
  }

  /**
   * Text of `ids` through the tokenizer.json decoder (byte-fallback reassembly, leading-space strip). Added tokens
   * go through the decoder like any token, as in HF `tokenizers`' `decode`.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added !== undefined) {
        if (!(options.skipSpecialTokens && added.special)) tokens.push(added.content);
        continue;
      }
      const t = this.model.idToToken.get(id);
      if (t === undefined) {
        throw new TokenizerDecodeError(
          `token id ${id} is not in the vocabulary (${this.vocabSize} tokens); pass ids produced by this tokenizer or its model`,
        );
      }
      tokens.push(t);
    }
    if (this.spec.decoders === null) return tokens.join(' ');
    return runDecoders(tokens, this.spec.decoders);
  }
}
