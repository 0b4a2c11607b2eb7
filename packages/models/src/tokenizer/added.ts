/**
 * Atomic splitting of added tokens, as HF's AddedVocabulary does it: leftmost-longest matching of the token
 * strings, then the `single_word`, `lstrip` and `rstrip` rules of each matched token.
 */
import type { AddedToken } from './config.ts';

export interface Segment {
  start: number;
  end: number;
  /** The matched added token, or null for plain text between matches. */
  token: AddedToken | null;
}

const WHITESPACE = /^\p{White_Space}$/u;
const WORD_CHAR = /^[\p{Alphabetic}\p{N}_]$/u;

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && WORD_CHAR.test(ch);
}
function charBefore(s: string, end: number): string | undefined {
  if (end <= 0) return undefined;
  const c = s.charCodeAt(end - 1);
  if (end >= 2 && c >= 0xdc00 && c <= 0xdfff) return String.fromCodePoint(s.codePointAt(end - 2)!);
  return String.fromCodePoint(s.codePointAt(end - 1)!);
}
function charAt(s: string, start: number): string | undefined {
  if (start >= s.length) return undefined;
  return String.fromCodePoint(s.codePointAt(start)!);
}

export class AddedTokenMatcher {
  /** First UTF-16 unit -> candidate tokens, longest first. */
  private readonly byFirst = new Map<string, AddedToken[]>();

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      const k = t.content[0];
      const list = this.byFirst.get(k) ?? [];
      list.push(t);
      this.byFirst.set(k, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
  }

  /** Splits `text` into plain segments and added-token segments covering it in order. */
  split(text: string): Segment[] {
    const out: Segment[] = [];
    let done = 0; // end of the last emitted segment
    let i = 0;
    while (i < text.length) {
      const tok = this.byFirst.get(text[i])?.find((t) => text.startsWith(t.content, i));
      if (tok === undefined) {
        i++;
        continue;
      }
      let start = i;
      let stop = i + tok.content.length;
      i = stop;
      if (tok.singleWord && (isWordChar(charBefore(text, start)) || isWordChar(charAt(text, stop)))) continue;
      if (tok.lstrip) {
        let s = start;
        while (s > 0 && WHITESPACE.test(text[s - 1])) s--;
        start = Math.max(s, done);
      }
      if (tok.rstrip) {
        while (stop < text.length && WHITESPACE.test(text[stop])) stop++;
      }
      if (done < start) out.push({ start: done, end: start, token: null });
      out.push({ start, end: stop, token: tok });
      done = stop;
      if (i < done) i = done;
    }
    if (done < text.length) out.push({ start: done, end: text.length, token: null });
    return out;
  }
}
