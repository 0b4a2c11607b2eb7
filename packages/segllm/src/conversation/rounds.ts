/**
 * Rounds of a SegLLM conversation: parsing `[REF:k]` tags out of user text and rendering the prompt string.
 *
 * Like the official CLI, tags are removed with a plain regex replace (surrounding spaces are kept, so
 * "Segment the helmet. [REF:1]" becomes "Segment the helmet. "). Unlike it, every tag is honoured (the CLI uses
 * only the first): each reference adds its own mask/box slot pair, in the order written, as the official data
 * pipeline does for comma lists.
 */
import { EmptyPromptError, InvalidReferenceError } from '../errors.ts';
import type { ConversationTemplate } from './template.ts';
import { SEGLLM_TEMPLATE } from './template.ts';

export interface RoundInput {
  /** User text with the tags removed. */
  text: string;
  /** Referenced rounds, 1-based, in the order written. */
  refs: number[];
  /** Given masks (ground-truth references, e.g. the hard split's round 1), encoded before the referenced rounds. */
  given?: number;
}

const REF_TAG = /\[REF:(\d+)\]/g;

/** Splits `[REF:k]` tags from the text of round `round` (1-based) and validates them. */
export function parseRound(userText: string, round: number): RoundInput {
  const refs = [...userText.matchAll(REF_TAG)].map((m) => Number(m[1]));
  const text = userText.replace(REF_TAG, '');
  if (text.trim().length === 0) throw new EmptyPromptError();
  for (const r of refs) if (r < 1 || r >= round) throw new InvalidReferenceError(r, round);
  return { text, refs };
}

/**
 * The human message of round `index` (0-based), with its slot placeholders: a mask/box pair per given mask and per
 * reference directly before the text (as the official inference, "[MASK-ENCODE][BOX-ENCODE]" + text); round 1 starts
 * with the image slots, then a space and the text, or the pairs and the text (the MRSeg writer's hard-split form).
 */
export function humanMessage(r: RoundInput, index: number, t: ConversationTemplate = SEGLLM_TEMPLATE): string {
  const pairs = t.slotToken.repeat(2 * ((r.given ?? 0) + r.refs.length));
  if (index > 0) return `${pairs}${r.text}`;
  const image = t.slotToken.repeat(t.imageSlots);
  return pairs ? `${image}${pairs}${r.text}` : `${image} ${r.text}`;
}

/** The text one round adds to the prompt: `USER: <msg> ASSISTANT: <seg></s>`. */
export function renderRound(r: RoundInput, index: number, t: ConversationTemplate = SEGLLM_TEMPLATE): string {
  return `${t.roles[0]}: ${humanMessage(r, index, t)}${t.sep}${t.roles[1]}: ${t.segToken}${t.sep2}`;
}

/** The whole prompt string (the tokenizer adds BOS). */
export function renderConversation(rounds: readonly RoundInput[], t: ConversationTemplate = SEGLLM_TEMPLATE): string {
  return t.system + t.sep + rounds.map((r, i) => renderRound(r, i, t)).join('');
}
