/**
 * A minimal, safe reader for Python pickles that hold plain data (as the RefCOCO `refs(*).p` files): protocols 0-5,
 * the opcodes for None/bool/int/float/str/bytes/list/tuple/dict/set, the memo, MARK and FRAME. Anything that would
 * import or call Python code (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, PERSID, EXT*, buffers) is
 * rejected with PickleUnsupportedOpcodeError before any effect; nothing is ever executed.
 *
 * Mapping: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number, str -> string,
 * Python 2 str (STRING/BINSTRING) -> string decoded as UTF-8 (latin-1 if not valid UTF-8), bytes -> Uint8Array,
 * list/tuple/set/frozenset -> array, dict -> plain object (int keys become their decimal string, other non-string
 * keys are refused).
 */
import { PickleError, PickleUnsupportedOpcodeError } from './errors.ts';

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | { [key: string]: PickleValue };

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

const UNSUPPORTED: Record<number, string> = {
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function decodePy2Str(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return latin1.decode(b);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Python repr-style string literal body (protocol 0 STRING) -> bytes. */
function unescapePyString(s: string, offset: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c) {
      if (c > 0xff) throw new PickleError('non-latin-1 character in STRING', offset);
      out.push(c);
      continue;
    }
    const e = s[++i];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
    if (e === 'x') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new PickleError('bad \\x escape in STRING', offset);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (e !== undefined && /[0-7]/.test(e) && /^[0-7]{1,3}/.test(s.slice(i))) {
      const oct = /^[0-7]{1,3}/.exec(s.slice(i))![0];
      out.push(parseInt(oct, 8) & 0xff);
      i += oct.length - 1;
    } else if (e !== undefined && e in simple) out.push(simple[e]);
    else throw new PickleError(`bad escape \\${e ?? ''} in STRING`, offset);
  }
  return Uint8Array.from(out);
}

/** Protocol 0 UNICODE (raw-unicode-escape): only \uXXXX and \UXXXXXXXX are escapes. */
function unescapeRawUnicode(b: Uint8Array, offset: number): string {
  const s = latin1.decode(b);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt(u4 ?? u8!, 16);
    if (cp > 0x10ffff) throw new PickleError(`\\U escape ${u8} is beyond U+10FFFF in UNICODE`, offset);
    return String.fromCodePoint(cp);
  });
}

function setKey(o: { [key: string]: PickleValue }, k: StackItem, v: StackItem, offset: number): void {
  if (k === MARK || v === MARK) throw new PickleError('MARK used as a dict key or value', offset);
  let key: string;
  if (typeof k === 'string') key = k;
  else if (typeof k === 'number' && Number.isInteger(k)) key = String(k);
  else if (typeof k === 'bigint') key = k.toString();
  else throw new PickleError(`unsupported dict key type ${k === null ? 'None' : typeof k}`, offset);
  // defineProperty: a "__proto__" key becomes a plain own property, never the prototype.
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Unpickles plain data; throws PickleError / PickleUnsupportedOpcodeError on anything else. */
export function unpickle(buf: Uint8Array): PickleValue {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let op = 0;

  const need = (n: number): void => {
    if (pos + n > buf.length) throw new PickleError('truncated pickle', op);
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError('length too large', op);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError('unterminated text argument', op);
    const s = latin1.decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): StackItem => {
    if (stack.length === 0) throw new PickleError('stack underflow', op);
    return stack.pop()!;
  };
  const popValue = (): PickleValue => {
    const v = pop();
    if (v === MARK) throw new PickleError('unexpected MARK', op);
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError('no value on the stack', op);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError('missing MARK', op);
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const list = (v: PickleValue, what: string): PickleValue[] => {
    if (!Array.isArray(v)) throw new PickleError(`${what} on a non-list`, op);
    return v;
  };
  const dict = (v: PickleValue): { [key: string]: PickleValue } => {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
      throw new PickleError('SETITEM on a non-dict', op);
    }
    return v;
  };
  const memoGet = (i: number): PickleValue => {
    if (!memo.has(i)) throw new PickleError(`memo key ${i} not found`, op);
    return memo.get(i)!;
  };
  const parseTextInt = (s: string): number | bigint | boolean => {
    if (s === '01') return true;
    if (s === '00') return false;
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[-+]?\d+$/.test(t)) throw new PickleError(`bad integer ${JSON.stringify(s)}`, op);
    return toInt(BigInt(t));
  };
  const leInt = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    // One hex parse (linear) rather than a shift per byte (quadratic: a 256 KB LONG4 took a minute).
    const hex = new Array<string>(b.length);
    for (let i = 0; i < b.length; i++) hex[b.length - 1 - i] = HEX[b[i]];
    let v = BigInt(`0x${hex.join('')}`);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return toInt(v);
  };

  for (;;) {
    op = pos;
    const code = u8();
    switch (code) {
      case 0x80: // PROTO
        if (u8() > 5) throw new PickleError('pickle protocol > 5', op);
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1) throw new PickleError(`STOP with ${stack.length} items on the stack`, op);
        const v = stack[0];
        if (v === MARK) throw new PickleError('STOP on a MARK', op);
        return v;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: // INT (text)
        stack.push(parseTextInt(line()));
        break;
      case 0x4c: // LONG (text)
        stack.push(parseTextInt(line()));
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(leInt(bytes(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = dv.getInt32((need(4), pos), true);
        pos += 4;
        if (n < 0) throw new PickleError('negative LONG4 length', op);
        stack.push(leInt(bytes(n)));
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const s = line().trim();
        const v = Number(s);
        if (s === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(s))) throw new PickleError(`bad float ${JSON.stringify(s)}`, op);
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x53: {
        // STRING (text, quoted repr)
        const s = line();
        const q = s[0];
        if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new PickleError('bad STRING literal', op);
        stack.push(decodePy2Str(unescapePyString(s.slice(1, -1), op)));
        break;
      }
      case 0x54: {
        // BINSTRING
        const n = dv.getInt32((need(4), pos), true);
        pos += 4;
        if (n < 0) throw new PickleError('negative BINSTRING length', op);
        stack.push(decodePy2Str(bytes(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(decodePy2Str(bytes(u8())));
        break;
      case 0x56: {
        // UNICODE (text, raw-unicode-escape)
        const end = buf.indexOf(0x0a, pos);
        if (end < 0) throw new PickleError('unterminated UNICODE', op);
        stack.push(unescapeRawUnicode(buf.subarray(pos, end), op));
        pos = end + 1;
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(decodeUtf8(bytes(u32()), op));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decodeUtf8(bytes(u8()), op));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decodeUtf8(bytes(u64()), op));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(bytes(u64()).slice());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = popValue();
        list(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const into = list(top(), 'APPENDS');
        for (const x of items) into.push(x);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([popValue()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = popValue();
        stack.push([popValue(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = popValue();
        const b = popValue();
        stack.push([popValue(), b, c]);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const into = list(top(), 'ADDITEMS');
        for (const x of items) into.push(x);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push({});
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) throw new PickleError('odd number of items for DICT', op);
        const o: { [key: string]: PickleValue } = {};
        for (let i = 0; i < items.length; i += 2) setKey(o, items[i], items[i + 1], op);
        stack.push(o);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = popValue();
        const k = popValue();
        setKey(dict(top()), k, v, op);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) throw new PickleError('odd number of items for SETITEMS', op);
        const o = dict(top());
        for (let i = 0; i < items.length; i += 2) setKey(o, items[i], items[i + 1], op);
        break;
      }
      case 0x70: // PUT (text)
        memo.set(Number(parseTextInt(line())), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET (text)
        stack.push(memoGet(Number(parseTextInt(line()))));
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      default: {
        const name = UNSUPPORTED[code];
        if (name) throw new PickleUnsupportedOpcodeError(name, op);
        throw new PickleError(`unknown pickle opcode 0x${code.toString(16).padStart(2, '0')}`, op);
      }
    }
  }
}

function decodeUtf8(b: Uint8Array, offset: number): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new PickleError('invalid UTF-8 in a str', offset);
  }
}
