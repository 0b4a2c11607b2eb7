/**
 * Parses an MRSeg conversation JSON item back into typed rounds, rejecting malformed markup with a
 * ConversationFormatError that names the conversation and turn. Accepted (segllm-reference.md 8.2):
 * - human turn 1: "[IMAGE256:<img>]" then optional encode brackets, then the question;
 * - later human turns: optional "[MASK-ENCODE:<img>|<ds>|<id>]" (each optionally followed by a
 *   "[BOX-ENCODE:...]" with the same id), then the question; `ind` (int or int list) names the referenced
 *   rounds (1-based) or is -1 / [-1] / absent when there is none;
 * - gpt turns: exactly one "[MASK-DECODE:...]" (optionally followed by "."), in any of the three forms
 *   `<img>|<ds>|<tgt>`, `<task>:<ref|none>:<tgt>:<img>:<ds>`, `<task>:<ref>:<ref2>:<tgt>:<img>:<ds>`.
 * Questions may not contain '[' or ']' (unknown markup).
 */
import type { MaskId } from '../generators/types.ts';
import { ConversationFormatError } from './errors.ts';
import type { ParsedConversation, ParsedRound, RoundRef } from './types.ts';

interface Bracket {
  kind: string;
  body: string;
}

/** Mask id as the official loader reads it: int unless it has other characters; '', "'", none, NULL => null. */
export function parseMaskId(s: string): MaskId | null {
  if (s === '' || s === "'" || s.toLowerCase() === 'none' || s === 'NULL') return null;
  return /^-?\d+$/.test(s) ? Number(s) : s;
}

function fail(msg: string, convId: string | null, turn: number | null): never {
  throw new ConversationFormatError(msg, convId, turn);
}

/** Splits leading "[KIND:body]" brackets (single spaces allowed between them) from the rest of the text. */
function leadingBrackets(value: string, convId: string | null, turn: number): { brackets: Bracket[]; text: string } {
  const brackets: Bracket[] = [];
  let p = 0;
  while (value[p] === '[') {
    const end = value.indexOf(']', p);
    if (end < 0) fail(`unclosed '[' at character ${p}; close the bracket`, convId, turn);
    const inner = value.slice(p + 1, end);
    if (inner.includes('[')) fail(`nested '[' at character ${p}; brackets cannot nest`, convId, turn);
    const colon = inner.indexOf(':');
    if (colon <= 0) fail(`bracket "[${inner}]" has no KIND: prefix`, convId, turn);
    brackets.push({ kind: inner.slice(0, colon), body: inner.slice(colon + 1) });
    p = end + 1;
    if (value[p] === ' ' && value[p + 1] === '[') p++;
  }
  if (value[p] === ' ') p++;
  const text = value.slice(p);
  if (/[[\]]/.test(text)) {
    fail(`unexpected '[' or ']' in the question "${text}"; markup must precede the question`, convId, turn);
  }
  return { brackets, text };
}

function parseEncodeBody(b: Bracket, convId: string | null, turn: number): [string, string, MaskId] {
  const parts = b.body.split('|');
  if (parts.length !== 3) fail(`[${b.kind}:${b.body}] must have the form <img>|<dataset>|<id>`, convId, turn);
  const id = parseMaskId(parts[2]);
  if (id === null) fail(`[${b.kind}:${b.body}] has no mask id`, convId, turn);
  return [parts[0], parts[1], id];
}

interface Decode {
  task: string | null;
  refs: MaskId[];
  target: MaskId | null;
  image: string;
  dataset: string;
}

function parseDecode(value: string, convId: string | null, turn: number): Decode {
  const m = /^\[MASK-DECODE:([^[\]]*)\]\.?$/.exec(value);
  if (!m) fail(`gpt turn must be exactly "[MASK-DECODE:...]" (optionally followed by "."), got "${value}"`, convId, turn);
  const body = m[1];
  const colon = body.split(':');
  if (colon.length === 1) {
    const p = body.split('|');
    if (p.length !== 3) fail(`MASK-DECODE body "${body}" must be <img>|<ds>|<tgt> or colon-separated`, convId, turn);
    return { task: null, refs: [], image: p[0], dataset: p[1], target: parseMaskId(p[2]) };
  }
  if (colon.length !== 5 && colon.length !== 6) {
    fail(
      `MASK-DECODE body "${body}" has ${colon.length} ':' fields; use <task>:<ref|none>:<tgt>:<img>:<ds> (or two refs)`,
      convId,
      turn,
    );
  }
  const n = colon.length;
  const refs = colon
    .slice(1, n - 3)
    .map(parseMaskId)
    .filter((x): x is MaskId => x !== null);
  return { task: colon[0], refs, target: parseMaskId(colon[n - 3]), image: colon[n - 2], dataset: colon[n - 1] };
}

/** An untrusted value in a message: never JSON.stringify (a deeply nested value overflows the stack). */
function brief(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return v !== null && typeof v === 'object' ? 'an object' : String(v);
}

function indList(ind: unknown, convId: string | null, turn: number): number[] {
  if (ind === undefined) return [];
  const list = Array.isArray(ind) ? (ind as unknown[]) : [ind];
  if (!list.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    fail(`"ind" must be an integer or a list of integers, got ${brief(ind)}`, convId, turn);
  }
  const nums = list as number[];
  return nums.length === 1 && nums[0] === -1 ? [] : nums;
}

/** Parses one conversation item; throws ConversationFormatError on any malformed field or markup. */
export function parseConversation(item: unknown): ParsedConversation {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    fail('a conversation must be a JSON object with "task" and "conversations"', null, null);
  }
  const obj = item as Record<string, unknown>;
  const rawId = obj.conv_id;
  const convId = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : null;
  if (obj.task !== 'segmentation') fail(`"task" must be "segmentation", got ${brief(obj.task)}`, convId, null);
  const turns = obj.conversations;
  if (!Array.isArray(turns) || turns.length < 2 || turns.length % 2 !== 0) {
    fail('"conversations" must be a non-empty list of human/gpt turn pairs', convId, null);
  }
  let image = '';
  let dataset = '';
  const rounds: ParsedRound[] = [];
  for (let t = 0; t < turns.length; t += 2) {
    const k = t / 2 + 1;
    const h = turns[t] as Record<string, unknown> | null;
    const g = turns[t + 1] as Record<string, unknown> | null;
    if (h?.from !== 'human' || typeof h.value !== 'string') fail('expected a human turn with a string value', convId, t);
    if (g?.from !== 'gpt' || typeof g.value !== 'string') fail('expected a gpt turn with a string value', convId, t + 1);
    const { brackets, text } = leadingBrackets(h.value, convId, t);
    let b = 0;
    if (k === 1) {
      if (brackets[0]?.kind !== 'IMAGE256' || brackets[0].body.length === 0) {
        fail('the first human turn must start with "[IMAGE256:<img>]"', convId, t);
      }
      image = brackets[0].body;
      b = 1;
    }
    const encIds: MaskId[] = [];
    for (; b < brackets.length; b++) {
      const br = brackets[b];
      if (br.kind === 'MASK-ENCODE') {
        const [img, ds, id] = parseEncodeBody(br, convId, t);
        if (img !== image) fail(`MASK-ENCODE image "${img}" differs from the conversation image "${image}"`, convId, t);
        if (dataset === '') dataset = ds;
        else if (ds !== dataset) fail(`MASK-ENCODE dataset "${ds}" differs from "${dataset}"`, convId, t);
        encIds.push(id);
        const next = brackets[b + 1] as Bracket | undefined;
        if (next?.kind === 'BOX-ENCODE') {
          const [img2, ds2, id2] = parseEncodeBody(next, convId, t);
          if (img2 !== img || ds2 !== ds || String(id2) !== String(id)) {
            fail(`BOX-ENCODE "${next.body}" must repeat its MASK-ENCODE "${br.body}"`, convId, t);
          }
          b++;
        }
      } else if (br.kind === 'BOX-ENCODE') {
        fail('BOX-ENCODE must directly follow a MASK-ENCODE of the same mask', convId, t);
      } else {
        fail(`unexpected [${br.kind}:...] in a human turn${br.kind === 'IMAGE256' ? ' after round 1' : ''}`, convId, t);
      }
    }
    const ind = indList(h.ind, convId, t);
    let refs: RoundRef[];
    if (k === 1) {
      if (ind.length > 0) fail('round 1 cannot reference an earlier round ("ind")', convId, t);
      refs = encIds.map((mask) => ({ round: null, mask }));
    } else {
      if (ind.length !== encIds.length) {
        fail(`"ind" names ${ind.length} round(s) but the turn encodes ${encIds.length} mask(s)`, convId, t);
      }
      refs = encIds.map((mask, i) => {
        const j = ind[i];
        if (j < 1 || j >= k) fail(`"ind" ${j} is not an earlier round (1..${k - 1})`, convId, t);
        const prev = rounds[j - 1].target;
        if (prev !== null && String(prev) !== String(mask)) {
          fail(`encoded mask ${mask} is not the target ${prev} of round ${j}`, convId, t);
        }
        return { round: j, mask };
      });
    }
    if (text.trim().length === 0) fail('the question is empty', convId, t);
    const dec = parseDecode(g.value, convId, t + 1);
    if (dec.image !== image) fail(`MASK-DECODE image "${dec.image}" differs from "${image}"`, convId, t + 1);
    if (dataset === '') dataset = dec.dataset;
    else if (dec.dataset !== dataset) fail(`MASK-DECODE dataset "${dec.dataset}" differs from "${dataset}"`, convId, t + 1);
    rounds.push({ index: k, text, task: dec.task, target: dec.target, refs, decodeRefs: dec.refs });
  }
  return { convId, image, dataset, rounds };
}
