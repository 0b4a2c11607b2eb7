/**
 * Streams a large JSON file without holding its text: the top level must be an array (items are yielded with
 * key null) or an object (each value that is an array is yielded element by element under its key; other values
 * are yielded whole). Only one element's text is in memory at a time, so files far larger than V8's string limit
 * (LVIS / Visual Genome train files) can be read. Keys not in `keys` are scanned but never parsed.
 */
import { createReadStream } from 'node:fs';

export class JsonStreamError extends Error {
  override readonly name = 'JsonStreamError';
}

export interface JsonItem {
  key: string | null;
  value: unknown;
}

export interface JsonStreamOptions {
  /** Top-level object keys to yield (default: all). */
  keys?: ReadonlySet<string>;
  /** Read chunk size in bytes (tests use tiny chunks). */
  chunkSize?: number;
}

type State = 'start' | 'key-or-end' | 'key' | 'colon' | 'value' | 'item-or-end' | 'capture' | 'done';

const WS = new Set([' ', '\t', '\n', '\r']);

/** The value of a JSON string body, or null when it is not valid JSON (control characters, bad escapes). */
function parseKey(body: string): string | null {
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return null;
  }
}

export async function* streamJsonItems(path: string, opts: JsonStreamOptions = {}): AsyncGenerator<JsonItem> {
  let state: State = 'start';
  let topArray = false;
  let key: string | null = null;
  let keyBuf = '';
  let keyEscape = false;
  let inArray = false; // capturing an array element (vs a whole top-level value)
  let keep = true;
  let buf = '';
  let depth = 0;
  let inString = false;
  let escape = false;
  let offset = 0;
  const fail = (msg: string): never => {
    throw new JsonStreamError(`${path}: ${msg} near character ${offset}; the file must be a JSON array or object`);
  };
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: opts.chunkSize ?? 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const out: JsonItem[] = [];
    let captureStart = -1;
    for (let i = 0; i < chunk.length; i++, offset++) {
      const ch = chunk[i];
      switch (state) {
        case 'start':
          if (WS.has(ch)) break;
          if (ch === '[') {
            topArray = true;
            inArray = true;
            state = 'item-or-end';
          } else if (ch === '{') state = 'key-or-end';
          else fail(`unexpected "${ch}" at the top level`);
          break;
        case 'key-or-end':
          if (WS.has(ch) || ch === ',') break;
          if (ch === '}') state = 'done';
          else if (ch === '"') {
            keyBuf = '';
            state = 'key';
          } else fail(`expected a key, got "${ch}"`);
          break;
        case 'key':
          if (keyEscape) {
            keyBuf += `\\${ch}`;
            keyEscape = false;
          } else if (ch === '\\') keyEscape = true;
          else if (ch === '"') {
            const parsed = parseKey(keyBuf) ?? fail(`invalid key string "${keyBuf.slice(0, 40)}" (a control character or a bad escape)`);
            key = parsed;
            keep = opts.keys === undefined || opts.keys.has(parsed);
            state = 'colon';
          } else keyBuf += ch;
          break;
        case 'colon':
          if (WS.has(ch)) break;
          if (ch !== ':') fail(`expected ":" after key ${JSON.stringify((key ?? '').slice(0, 40))}`);
          state = 'value';
          break;
        case 'value':
          if (WS.has(ch)) break;
          if (ch === '[') {
            inArray = true;
            state = 'item-or-end';
            break;
          }
          inArray = false;
          state = 'capture';
          i--;
          offset--;
          buf = '';
          depth = 0;
          captureStart = i + 1;
          break;
        case 'item-or-end':
          if (WS.has(ch) || ch === ',') break;
          if (ch === ']') {
            state = topArray ? 'done' : 'key-or-end';
            break;
          }
          state = 'capture';
          buf = '';
          depth = 0;
          captureStart = i;
          i--;
          offset--;
          break;
        case 'capture': {
          if (inString) {
            if (escape) escape = false;
            else if (ch === '\\') escape = true;
            else if (ch === '"') inString = false;
            break;
          }
          if (ch === '"') inString = true;
          else if (ch === '{' || ch === '[') depth++;
          else if ((ch === '}' || ch === ']') && depth > 0) depth--;
          else if (depth === 0 && (ch === ',' || ch === ']' || ch === '}')) {
            if (keep) {
              buf += chunk.slice(Math.max(0, captureStart), i);
              try {
                out.push({ key: topArray ? null : key, value: JSON.parse(buf) as unknown });
              } catch {
                fail(`invalid JSON value under ${topArray ? 'the top-level array' : `"${key}"`}`);
              }
            }
            buf = '';
            captureStart = -1;
            if (inArray) {
              state = ch === ']' ? (topArray ? 'done' : 'key-or-end') : 'item-or-end';
            } else state = ch === '}' ? 'done' : 'key-or-end';
          }
          break;
        }
        case 'done':
          if (!WS.has(ch)) fail('trailing characters after the top-level value');
          break;
      }
    }
    if (state === 'capture' && keep) buf += chunk.slice(Math.max(0, captureStart));
    yield* out;
  }
  if ((state as State) !== 'done') fail('unexpected end of file');
}
