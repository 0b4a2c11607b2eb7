/**
 * Training prompt and labels as the official `preprocess_plain_gen` builds them (segllm-reference.md 2.2, 2.4, 5.1;
 * TRAIN 683-722): the Vicuna-v1 prompt of the bracket-replaced turns, tokenised in one call with BOS, and labels
 * from the per-round length arithmetic (ported, not re-derived):
 *
 *   rounds = prompt.split('</s>'); cur = 1 (BOS ignored)
 *   per non-empty round with exactly one ' ASSISTANT: ':
 *     round_len       = len(tok(round)) - 1
 *     instruction_len = len(tok(prefix + ' ASSISTANT: ')) - 2
 *     ignore [cur, cur + instruction_len)   (the whole round when its reply has <FAKE_MASK_OUT>)
 *     cur += round_len
 *   cur += 1; ignore [cur, end); if cur != number of tokens: everything ignored (a "tokenization mismatch").
 */
import type { Tokenizer } from '@segllm/models';
import type { ConversationTemplate } from '../conversation/template.ts';
import { SEGLLM_TEMPLATE } from '../conversation/template.ts';

export const IGNORE_INDEX = -100;
/** Text marker whose round the official code turns into `<seg>` with every label ignored. */
export const FAKE_SEGM_TOKEN = '<FAKE_MASK_OUT>';

export interface Message {
  from: 'human' | 'gpt';
  /** The turn's text with its brackets already replaced by `<video>` / `<seg>`. */
  value: string;
}

/** The raw Vicuna-v1 prompt (`conv.get_prompt()`): system, then `ROLE: value` closed by sep (human) or sep2 (gpt). */
export function renderPrompt(messages: readonly Message[], t: ConversationTemplate = SEGLLM_TEMPLATE): string {
  let s = t.system + t.sep;
  messages.forEach((m, j) => {
    s += `${m.from === 'human' ? t.roles[0] : t.roles[1]}: ${m.value}${j % 2 === 0 ? t.sep : t.sep2}`;
  });
  return s;
}

export interface Labelled {
  ids: Int32Array;
  labels: Int32Array;
  /** True when the arithmetic did not end on the token count (upstream then ignores every label). */
  mismatch: boolean;
}

/** Token ids and labels of a raw prompt (with `<FAKE_MASK_OUT>` markers, if any, still in it). */
export function labelPrompt(rawPrompt: string, tok: Tokenizer, t: ConversationTemplate = SEGLLM_TEMPLATE): Labelled {
  const segPrompt = rawPrompt.replaceAll(FAKE_SEGM_TOKEN, t.segToken);
  const ids = Int32Array.from(tok.encode(segPrompt));
  const labels = Int32Array.from(ids);
  const total = ids.length;
  const ignore = (a: number, b: number) => labels.fill(IGNORE_INDEX, Math.min(a, total), Math.min(b, total));
  const sep = `${t.sep}${t.roles[1]}: `;
  let cur = 1;
  ignore(0, cur);
  for (const raw of rawPrompt.split(t.sep2)) {
    if (raw === '') break;
    const parts = raw.split(sep);
    if (parts.length !== 2) break;
    const rou = raw.replaceAll(FAKE_SEGM_TOKEN, t.segToken);
    const roundLen = tok.encode(rou).length - 1;
    const instructionLen = tok.encode(parts[0] + sep).length - 2;
    if (parts[1].includes(FAKE_SEGM_TOKEN)) ignore(cur, cur + roundLen);
    else ignore(cur, cur + instructionLen);
    cur += roundLen;
  }
  cur += 1;
  ignore(cur, total);
  const mismatch = cur !== total;
  if (mismatch) labels.fill(IGNORE_INDEX);
  return { ids, labels, mismatch };
}
