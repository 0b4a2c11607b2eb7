import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer, TokenizerConfigError, TokenizerDecodeError } from '../src/tokenizer/index.ts';

const dir = new URL('./fixtures/tokenizer/', import.meta.url);
const jsonText = gunzipSync(readFileSync(new URL('tokenizer.json.gz', dir))).toString('utf8');
interface Golden {
  prompts: Record<string, string>;
  input_ids: Record<string, number[]>;
  ids_of_added: Record<string, number>;
  vocab_size: number;
  sentencepiece_encode_no_bos: Record<string, number[]>;
}
const golden = JSON.parse(readFileSync(new URL('tokenize.json', dir), 'utf8')) as Golden;

let tok: Tokenizer;
beforeAll(() => {
  tok = Tokenizer.fromString(jsonText);
});

// Tests poke at arbitrary tokenizer.json fields, so the parsed JSON is deliberately untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseJson = any;
function withJson(edit: (j: LooseJson) => void): Tokenizer {
  const j: LooseJson = JSON.parse(jsonText);
  edit(j);
  return Tokenizer.fromJSON(j);
}

describe('SegLLM tokenizer (LlamaTokenizerFast legacy=False + 11 added tokens)', () => {
  it('has the HF vocabulary size and added-token ids', () => {
    expect(tok.vocabSize).toBe(golden.vocab_size);
    expect(tok.vocabSize).toBe(32011);
    for (const [t, id] of Object.entries(golden.ids_of_added)) expect(tok.tokenToId(t)).toBe(id);
    expect(tok.tokenToId('<video>')).toBe(32006);
    expect(tok.tokenToId('<seg>')).toBe(32009);
    expect(tok.idToToken(29871)).toBe('▁');
  });

  it.each(Object.keys(golden.input_ids))('encodes prompt %s exactly as HF', (name) => {
    expect(tok.encode(golden.prompts[name])).toEqual(golden.input_ids[name]);
  });

  it('matches sentencepiece without BOS, except the dummy-prefix ▁ that legacy=False drops', () => {
    for (const [name, sp] of Object.entries(golden.sentencepiece_encode_no_bos)) {
      const ids = tok.encode(golden.prompts[name], { addSpecialTokens: false });
      if (name === 'leading_space') {
        expect(sp[0]).toBe(29871);
        expect(ids).toEqual(sp.slice(1));
      } else {
        expect(ids).toEqual(sp);
      }
    }
  });

  it('puts a standalone ▁ before <seg> and no prefix after an added token', () => {
    const { tokens } = tok.encodeWithTokens('USER: <video><video>Segment it. ASSISTANT: <seg></s>');
    expect(tokens).toEqual(['<s>', '▁US', 'ER', ':', '▁', '<video>', '<video>', 'Seg', 'ment', '▁it', '.', '▁A', 'SS', 'IST', 'ANT', ':', '▁', '<seg>', '</s>']);
  });

  it('decodes with the leading-space rule and special-token skipping', () => {
    const p = golden.prompts.round1;
    expect(tok.decode(golden.input_ids.round1)).toBe('<s> ' + p);
    for (const name of ['plain_ascii', 'unicode', 'digits_ws']) {
      expect(tok.decode(tok.encode(golden.prompts[name]), { skipSpecialTokens: true })).toBe(golden.prompts[name]);
    }
    expect(tok.decode(tok.encode(' starts with a space'), { skipSpecialTokens: true })).toBe('starts with a space');
    expect(tok.decode(tok.encode('a <seg> b'), { skipSpecialTokens: true })).toBe('a  b');
  });

  it('reassembles byte-fallback tokens and replaces invalid UTF-8 byte by byte', () => {
    expect(tok.encode('🐱', { addSpecialTokens: false })).toEqual([29871, 243, 162, 147, 180]);
    expect(tok.decode([243, 162, 147, 180])).toBe('🐱');
    expect(tok.decode([15043, 243, 162, 147])).toBe('Hello\uFFFD\uFFFD\uFFFD');
  });

  it('encodes the empty string to BOS only', () => {
    expect(tok.encode('')).toEqual([1]);
    expect(tok.encode('', { addSpecialTokens: false })).toEqual([]);
    expect(tok.encode(' ')).toEqual([1, 29871]);
  });

  it('honours lstrip/rstrip/single_word flags of added tokens', () => {
    const t = withJson((j) => {
      const seg = (j.added_tokens as Record<string, unknown>[]).find((a) => a.content === '<seg>')!;
      seg.lstrip = true;
      seg.rstrip = true;
      const vid = (j.added_tokens as Record<string, unknown>[]).find((a) => a.content === '<video>')!;
      vid.single_word = true;
    });
    const x = tok.encode('x', { addSpecialTokens: false })[0];
    expect(t.encode('x  <seg>  x', { addSpecialTokens: false })).toEqual([x, 32009, tok.tokenToId('x')]);
    // single_word: only matched when not glued to a word character.
    expect(t.encode('a<video>', { addSpecialTokens: false })).not.toContain(32006);
    expect(t.encode('a <video> b', { addSpecialTokens: false })).toContain(32006);
  });

  it('supports the legacy normalizer form (Prepend ▁ + Replace) and Metaspace split', () => {
    const legacy = withJson((j) => {
      j.normalizer = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
      j.pre_tokenizer = null;
    });
    // legacy=True: a ▁ is prepended after every added token as well.
    expect(legacy.encode('<video>hello', { addSpecialTokens: false })).toEqual([32006, tok.tokenToId('▁hello')]);
    expect(tok.encode('<video>hello', { addSpecialTokens: false })).toEqual([32006, tok.tokenToId('hello')]);
    const split = withJson((j) => {
      j.pre_tokenizer.split = true;
    });
    // "a  b" -> "▁a", "▁", "▁b" with split, "▁a", "▁▁b"-style merges without.
    expect(split.encodeWithTokens('a  b', { addSpecialTokens: false }).tokens).toEqual(['▁a', '▁', '▁b']);
    expect(tok.encodeWithTokens('a  b', { addSpecialTokens: false }).tokens).toEqual(['▁a', '▁▁', 'b']);
  });
});

describe('malformed tokenizer.json', () => {
  const expectField = (fn: () => unknown, field: string): void => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(TokenizerConfigError);
      expect((e as TokenizerConfigError).field).toBe(field);
      expect((e as Error).name).toBe('TokenizerConfigError');
      return;
    }
    throw new Error('expected a TokenizerConfigError');
  };
  it('names the bad field', () => {
    expectField(() => Tokenizer.fromString('{"model": '), '(root)');
    expectField(() => Tokenizer.fromJSON({ added_tokens: [] }), 'model');
    expectField(() => Tokenizer.fromJSON([1, 2]), '(root)');
    expectField(() => withJson((j) => (j.model.merges[5] = ['▁', 'nope-not-a-token'])), 'model.merges[5]');
    expectField(() => withJson((j) => (j.model.vocab['▁t'] = 'x')), 'model.vocab["▁t"]');
    expectField(() => withJson((j) => (j.pre_tokenizer = { type: 'ByteLevel' })), 'pre_tokenizer.type');
    expectField(() => withJson((j) => (j.model.type = 'Unigram')), 'model.type');
    expectField(() => withJson((j) => (j.added_tokens[3].id = -1)), 'added_tokens[3].id');
    expectField(() => withJson((j) => (j.decoder.decoders[1] = { type: 'WordPiece' })), 'decoder.decoders[1].type');
    expectField(() => withJson((j) => (j.post_processor.single[0] = { SpecialToken: { id: '<bos>' } })), 'post_processor.single[0]');
  });
  it('rejects ids outside the vocabulary on decode', () => {
    expect(() => tok.decode([1, 40000])).toThrow(TokenizerDecodeError);
  });
});

describe('decoder variants', () => {
  it('Metaspace decoder drops the replacement characters of the first token only', () => {
    const j: LooseJson = JSON.parse(jsonText);
    j.decoder = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
    const t = Tokenizer.fromJSON(j);
    const hello = t.tokenToId('▁hello')!;
    expect(t.decode([hello, hello])).toBe('hello hello');
    expect(t.decode([259, hello])).toBe(' hello'); // '▁▁' first: both dropped, as HF
    j.decoder.prepend_scheme = 'never';
    expect(Tokenizer.fromJSON(j).decode([hello, hello])).toBe(' hello hello');
  });
  it('joins tokens with spaces when there is no decoder', () => {
    const j: LooseJson = JSON.parse(jsonText);
    j.decoder = null;
    expect(Tokenizer.fromJSON(j).decode([1, 15043])).toBe('<s> ▁Hello');
  });
});

describe('huge texts (issue 17, point 5)', () => {
  it('encodes 135k byte-fallback ids without a RangeError, and maxTokens stops early', () => {
    const text = '\u9fff'.repeat(45000);
    const ids = tok.encode(text);
    expect(ids.length).toBe(2 + 3 * 45000); // BOS, '▁', 3 UTF-8 byte tokens per character
    expect(ids.slice(1, 5)).toEqual(tok.encode('\u9fff', { addSpecialTokens: false }));
    // This tokenizer has no pre-tokenizer (the whole text is one BPE word), so maxTokens stops at added tokens only.
    const turns = 'USER: hi <seg> '.repeat(3000);
    const capped = tok.encode(turns, { maxTokens: 2048 });
    expect(capped.length).toBeGreaterThan(2048);
    expect(capped.length).toBeLessThan(2060);
    expect(capped).toEqual(tok.encode(turns).slice(0, capped.length));
    expect(tok.maxTokenLength).toBe(17);
  });
});
