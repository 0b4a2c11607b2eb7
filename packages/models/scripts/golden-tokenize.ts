/**
 * `golden tokenize <tokenizer.json[.gz]> <tokenize.json>`: encodes every prompt of a make_tokenizer_goldens.py /
 * make_segllm_io_goldens.py report and prints one JSON line per prompt (ids equal or first mismatch).
 */
import { Tokenizer } from '../src/index.ts';
import { emit, readMaybeGzip } from './golden-io.ts';

interface Report {
  prompts?: Record<string, string>;
  input_ids?: Record<string, number[]>;
  ids_of_added?: Record<string, number> | string[];
  vocab_size?: number;
  [k: string]: unknown;
}

/** The expected ids: `input_ids` (segllm-io format), or the `encode` map of a `*legacy-false` entry. */
function expectedIds(rep: Report): { source: string; ids: Record<string, number[]>; added?: Record<string, number>; len?: number } {
  if (rep.input_ids !== undefined) {
    const added = Array.isArray(rep.ids_of_added) ? undefined : rep.ids_of_added;
    return { source: 'input_ids', ids: rep.input_ids, added, len: rep.vocab_size };
  }
  for (const [k, v] of Object.entries(rep)) {
    if (k.endsWith('legacy-false') && typeof v === 'object' && v !== null && 'encode' in v) {
      const e = v as { encode: Record<string, number[]>; ids_of_added?: Record<string, number>; len?: number };
      return { source: k, ids: e.encode, added: e.ids_of_added, len: e.len };
    }
  }
  throw new Error('tokenize.json has neither `input_ids` nor a `*legacy-false` entry with `encode`');
}

export function runTokenizeGolden(args: string[]): Promise<boolean> {
  if (args.length !== 2) throw new Error('usage: golden tokenize <tokenizer.json[.gz]> <tokenize.json>');
  const tok = Tokenizer.fromString(readMaybeGzip(args[0]).toString('utf8'));
  const rep = JSON.parse(readMaybeGzip(args[1]).toString('utf8')) as Report;
  const exp = expectedIds(rep);
  const prompts = rep.prompts ?? {};
  let compared = 0;
  let failed = 0;
  if (exp.len !== undefined) {
    const pass = tok.vocabSize === exp.len;
    compared++;
    if (!pass) failed++;
    emit({ name: 'vocab_size', expected: exp.len, actual: tok.vocabSize, pass });
  }
  for (const [t, id] of Object.entries(exp.added ?? {})) {
    const pass = tok.tokenToId(t) === id;
    compared++;
    if (!pass) failed++;
    emit({ name: `id:${t}`, expected: id, actual: tok.tokenToId(t) ?? null, pass });
  }
  for (const [name, ids] of Object.entries(exp.ids)) {
    const text = prompts[name];
    if (text === undefined) {
      emit({ name, skipped: 'no prompt text' });
      continue;
    }
    const got = tok.encode(text);
    let firstMismatch = -1;
    for (let i = 0; i < Math.max(got.length, ids.length); i++) {
      if (got[i] !== ids[i]) {
        firstMismatch = i;
        break;
      }
    }
    const pass = firstMismatch < 0;
    compared++;
    if (!pass) failed++;
    emit({ name, idsEqual: pass, length: got.length, expectedLength: ids.length, ...(pass ? {} : { firstMismatch, got: got.slice(firstMismatch, firstMismatch + 8), expected: ids.slice(firstMismatch, firstMismatch + 8) }) });
  }
  emit({ summary: 'tokenize', source: exp.source, compared, failed, ok: failed === 0 && compared > 0 });
  return Promise.resolve(failed === 0 && compared > 0);
}
