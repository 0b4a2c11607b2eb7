/**
 * Parsing and validation of a HF `tokenizer.json` into plain specs. Only the components that LLaMA-family
 * SentencePiece-BPE tokenizers use are accepted; anything else raises a TokenizerConfigError naming the field.
 */
import { TokenizerConfigError } from './errors.ts';

export interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export type NormalizerStep =
  | { type: 'Prepend'; prepend: string }
  | { type: 'Replace'; pattern: string; content: string }
  | { type: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' };

export type PrependScheme = 'always' | 'first' | 'never';

export interface MetaspaceSpec {
  replacement: string;
  prependScheme: PrependScheme;
  split: boolean;
}

export interface BpeSpec {
  vocab: Map<string, number>;
  /** Merge pairs in rank order (rank = index). */
  merges: [string, string][];
  byteFallback: boolean;
  fuseUnk: boolean;
  unkToken: string | null;
  ignoreMerges: boolean;
}

export type DecoderStep =
  | { type: 'Replace'; pattern: string; content: string }
  | { type: 'ByteFallback' }
  | { type: 'Fuse' }
  | { type: 'Strip'; content: string; start: number; stop: number }
  | { type: 'Metaspace'; replacement: string; prependScheme: PrependScheme };

export type TemplatePiece = { kind: 'special'; id: string } | { kind: 'sequence' };

export interface PostProcessorSpec {
  single: TemplatePiece[];
  /** Template special-token name -> ids it expands to. */
  specialTokens: Map<string, number[]>;
}

export interface TokenizerSpec {
  added: AddedToken[];
  normalizers: NormalizerStep[];
  preTokenizer: MetaspaceSpec | null;
  model: BpeSpec;
  postProcessor: PostProcessorSpec | null;
  /** null: no decoder (tokens joined with a space, as HF does). */
  decoders: DecoderStep[] | null;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown, field: string): Json {
  if (!isObj(v)) throw new TokenizerConfigError(field, `expected an object, got ${describe(v)}`);
  return v;
}
function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new TokenizerConfigError(field, `expected an array, got ${describe(v)}`);
  return v;
}
function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new TokenizerConfigError(field, `expected a string, got ${describe(v)}`);
  return v;
}
function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new TokenizerConfigError(field, `expected a boolean, got ${describe(v)}`);
  return v;
}
function id(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new TokenizerConfigError(field, `expected a non-negative integer id, got ${describe(v)}`);
  }
  return v;
}
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}
function oneChar(v: unknown, field: string): string {
  const s = str(v, field);
  if ([...s].length !== 1) throw new TokenizerConfigError(field, `expected a single character, got ${describe(s)}`);
  return s;
}
function prependScheme(m: Json, field: string): PrependScheme {
  if (m.prepend_scheme === undefined || m.prepend_scheme === null) {
    // Files saved before `prepend_scheme` existed carry `add_prefix_space`.
    return bool(m.add_prefix_space, `${field}.add_prefix_space`, true) ? 'always' : 'never';
  }
  const s = str(m.prepend_scheme, `${field}.prepend_scheme`);
  if (s !== 'always' && s !== 'first' && s !== 'never') {
    throw new TokenizerConfigError(`${field}.prepend_scheme`, `unknown scheme ${describe(s)}`);
  }
  return s;
}
function stringPattern(v: unknown, field: string): string {
  const p = obj(v, field);
  if (typeof p.String !== 'string') {
    throw new TokenizerConfigError(field, 'only {"String": ...} patterns are supported (regex patterns are not)');
  }
  return p.String;
}

function parseNormalizer(v: unknown, field: string, out: NormalizerStep[]): void {
  if (v === null || v === undefined) return;
  const n = obj(v, field);
  const type = str(n.type, `${field}.type`);
  switch (type) {
    case 'Sequence':
      arr(n.normalizers, `${field}.normalizers`).forEach((s, i) => parseNormalizer(s, `${field}.normalizers[${i}]`, out));
      return;
    case 'Prepend':
      out.push({ type, prepend: str(n.prepend, `${field}.prepend`) });
      return;
    case 'Replace':
      out.push({ type, pattern: stringPattern(n.pattern, `${field}.pattern`), content: str(n.content, `${field}.content`) });
      return;
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      out.push({ type });
      return;
    default:
      throw new TokenizerConfigError(`${field}.type`, `unsupported normalizer ${describe(type)}`);
  }
}

function parsePreTokenizer(v: unknown): MetaspaceSpec | null {
  if (v === null || v === undefined) return null;
  const p = obj(v, 'pre_tokenizer');
  const type = str(p.type, 'pre_tokenizer.type');
  if (type !== 'Metaspace') {
    throw new TokenizerConfigError('pre_tokenizer.type', `unsupported pre-tokenizer ${describe(type)} (only Metaspace)`);
  }
  return {
    replacement: oneChar(p.replacement, 'pre_tokenizer.replacement'),
    prependScheme: prependScheme(p, 'pre_tokenizer'),
    split: bool(p.split, 'pre_tokenizer.split', true),
  };
}

function parseModel(v: unknown): BpeSpec {
  const m = obj(v, 'model');
  if (m.type !== undefined && m.type !== 'BPE') {
    throw new TokenizerConfigError('model.type', `unsupported model ${describe(m.type)} (only BPE)`);
  }
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) {
    throw new TokenizerConfigError('model.dropout', 'BPE dropout is not supported (use a file with dropout null)');
  }
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    if (m[k] !== undefined && m[k] !== null && m[k] !== '') {
      throw new TokenizerConfigError(`model.${k}`, 'subword prefixes/suffixes are not supported');
    }
  }
  const vocabObj = obj(m.vocab, 'model.vocab');
  const vocab = new Map<string, number>();
  for (const [tok, i] of Object.entries(vocabObj)) vocab.set(tok, id(i, `model.vocab[${JSON.stringify(tok)}]`));
  if (vocab.size === 0) throw new TokenizerConfigError('model.vocab', 'the vocabulary is empty');
  const merges = arr(m.merges, 'model.merges').map((e, i): [string, string] => {
    const field = `model.merges[${i}]`;
    if (typeof e === 'string') {
      const parts = e.split(' ');
      if (parts.length !== 2) throw new TokenizerConfigError(field, `expected "left right", got ${describe(e)}`);
      return [parts[0], parts[1]];
    }
    const pair = arr(e, field);
    if (pair.length !== 2) throw new TokenizerConfigError(field, 'expected a pair [left, right]');
    return [str(pair[0], `${field}[0]`), str(pair[1], `${field}[1]`)];
  });
  const unk = m.unk_token === undefined || m.unk_token === null ? null : str(m.unk_token, 'model.unk_token');
  if (unk !== null && !vocab.has(unk)) throw new TokenizerConfigError('model.unk_token', `${describe(unk)} is not in model.vocab`);
  return {
    vocab,
    merges,
    byteFallback: bool(m.byte_fallback, 'model.byte_fallback', false),
    fuseUnk: bool(m.fuse_unk, 'model.fuse_unk', false),
    unkToken: unk,
    ignoreMerges: bool(m.ignore_merges, 'model.ignore_merges', false),
  };
}

function parseAdded(v: unknown): AddedToken[] {
  if (v === undefined || v === null) return [];
  return arr(v, 'added_tokens').map((e, i) => {
    const f = `added_tokens[${i}]`;
    const t = obj(e, f);
    const special = bool(t.special, `${f}.special`, false);
    const content = str(t.content, `${f}.content`);
    if (content.length === 0) throw new TokenizerConfigError(`${f}.content`, 'an added token cannot be empty');
    return {
      id: id(t.id, `${f}.id`),
      content,
      singleWord: bool(t.single_word, `${f}.single_word`, false),
      lstrip: bool(t.lstrip, `${f}.lstrip`, false),
      rstrip: bool(t.rstrip, `${f}.rstrip`, false),
      normalized: bool(t.normalized, `${f}.normalized`, !special),
      special,
    };
  });
}

function parsePostProcessor(v: unknown): PostProcessorSpec | null {
  if (v === null || v === undefined) return null;
  const p = obj(v, 'post_processor');
  const type = str(p.type, 'post_processor.type');
  if (type !== 'TemplateProcessing') {
    throw new TokenizerConfigError('post_processor.type', `unsupported post-processor ${describe(type)} (only TemplateProcessing)`);
  }
  const single = arr(p.single, 'post_processor.single').map((e, i): TemplatePiece => {
    const f = `post_processor.single[${i}]`;
    const piece = obj(e, f);
    if (isObj(piece.SpecialToken)) return { kind: 'special', id: str(piece.SpecialToken.id, `${f}.SpecialToken.id`) };
    if (isObj(piece.Sequence)) {
      if (piece.Sequence.id !== 'A') throw new TokenizerConfigError(`${f}.Sequence.id`, 'a single-sequence template must use A');
      return { kind: 'sequence' };
    }
    throw new TokenizerConfigError(f, 'expected {"SpecialToken": ...} or {"Sequence": ...}');
  });
  const specialTokens = new Map<string, number[]>();
  for (const [name, e] of Object.entries(obj(p.special_tokens ?? {}, 'post_processor.special_tokens'))) {
    const f = `post_processor.special_tokens[${JSON.stringify(name)}]`;
    specialTokens.set(name, arr(obj(e, f).ids, `${f}.ids`).map((x, i) => id(x, `${f}.ids[${i}]`)));
  }
  for (const [i, piece] of single.entries()) {
    if (piece.kind === 'special' && !specialTokens.has(piece.id)) {
      throw new TokenizerConfigError(`post_processor.single[${i}]`, `special token ${describe(piece.id)} is not in special_tokens`);
    }
  }
  return { single, specialTokens };
}

function count(x: unknown, f: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new TokenizerConfigError(f, 'expected a count');
  return x;
}

function parseDecoder(v: unknown, field: string, out: DecoderStep[]): void {
  const d = obj(v, field);
  const type = str(d.type, `${field}.type`);
  switch (type) {
    case 'Sequence':
      arr(d.decoders, `${field}.decoders`).forEach((s, i) => parseDecoder(s, `${field}.decoders[${i}]`, out));
      return;
    case 'Replace':
      out.push({ type, pattern: stringPattern(d.pattern, `${field}.pattern`), content: str(d.content, `${field}.content`) });
      return;
    case 'ByteFallback':
    case 'Fuse':
      out.push({ type });
      return;
    case 'Strip':
      out.push({
        type,
        content: oneChar(d.content, `${field}.content`),
        start: count(d.start, `${field}.start`),
        stop: count(d.stop, `${field}.stop`),
      });
      return;
    case 'Metaspace':
      out.push({ type, replacement: oneChar(d.replacement, `${field}.replacement`), prependScheme: prependScheme(d, field) });
      return;
    default:
      throw new TokenizerConfigError(`${field}.type`, `unsupported decoder ${describe(type)}`);
  }
}

/** Validates a parsed tokenizer.json value. Throws TokenizerConfigError naming the first bad field. */
export function parseTokenizerJson(json: unknown): TokenizerSpec {
  const root = obj(json, '(root)');
  if (!('model' in root)) throw new TokenizerConfigError('model', 'missing; this does not look like a tokenizer.json');
  const normalizers: NormalizerStep[] = [];
  parseNormalizer(root.normalizer, 'normalizer', normalizers);
  let decoders: DecoderStep[] | null = null;
  if (root.decoder !== null && root.decoder !== undefined) {
    decoders = [];
    parseDecoder(root.decoder, 'decoder', decoders);
  }
  return {
    added: parseAdded(root.added_tokens),
    normalizers,
    preTokenizer: parsePreTokenizer(root.pre_tokenizer),
    model: parseModel(root.model),
    postProcessor: parsePostProcessor(root.post_processor),
    decoders,
  };
}
