/** The `tokenizer.json` decoder chain as HF `tokenizers` applies it (each step maps a token list to a token list). */
import type { DecoderStep } from './config.ts';

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** `<0xXX>` runs become their UTF-8 text; a run that is not valid UTF-8 gives one U+FFFD per byte, as HF. */
function byteFallback(tokens: readonly string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    try {
      out.push(new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes)));
    } catch {
      for (let k = 0; k < bytes.length; k++) out.push('\uFFFD');
    }
    bytes = [];
  };
  for (const t of tokens) {
    const m = BYTE_TOKEN.exec(t);
    if (m) bytes.push(parseInt(m[1], 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

function strip(t: string, content: string, start: number, stop: number): string {
  const chars = [...t];
  let a = 0;
  while (a < start && a < chars.length && chars[a] === content) a++;
  let b = chars.length;
  while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
  return chars.slice(a, b).join('');
}

export function runDecoders(tokens: string[], steps: readonly DecoderStep[]): string {
  let toks = tokens;
  for (const d of steps) {
    switch (d.type) {
      case 'Replace':
        toks = toks.map((t) => t.replaceAll(d.pattern, d.content));
        break;
      case 'ByteFallback':
        toks = byteFallback(toks);
        break;
      case 'Fuse':
        toks = [toks.join('')];
        break;
      case 'Strip':
        toks = toks.map((t) => strip(t, d.content, d.start, d.stop));
        break;
      case 'Metaspace':
        // As HF: in the first token every replacement character is dropped (unless the scheme is `never`).
        toks = toks.map((t, i) => t.replaceAll(d.replacement, i === 0 && d.prependScheme !== 'never' ? '' : ' '));
        break;
    }
  }
  return toks.join('');
}
