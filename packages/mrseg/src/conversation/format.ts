/**
 * Writes a `ConversationSpec` as the MRSeg conversation JSON the official loader reads (segllm-reference.md 8.2;
 * field table in packages/mrseg/README.md, "Conversation JSON"):
 *
 *   round 1:  human "[IMAGE256:<img>] <question>"
 *             (given masks, as in hard queries:
 *              "[IMAGE256:<img>][MASK-ENCODE:<img>|<ds>|<id>][BOX-ENCODE:<img>|<ds>|<id>]<question>")
 *   round k:  human "[MASK-ENCODE:<img>|<ds>|<id>][BOX-ENCODE:<img>|<ds>|<id>]<question>", "ind": [j]
 *             or, without a reference, human "<question>", "ind": [-1]
 *   every round: gpt "[MASK-DECODE:<task>:<ref id|none>:<target id>:<img>:<ds>]"
 *   item: {"conv_id", "task": "segmentation", "base": "[null]", "conversations"}
 *
 * Encode brackets are followed directly by the question, without a space, exactly as the official inference builds
 * its turns ("[MASK-ENCODE:..][BOX-ENCODE:..]" + text), so training and inference prompts tokenise alike. `base` is
 * unused for segmentation but the official loader reads it (`sources[0]['base']`); we write the CLI's "[null]".
 * The parser also accepts a space after the brackets and a missing `base` (older files).
 */
import type { MaskId } from '../generators/types.ts';
import { ConversationFormatError } from './errors.ts';
import type { ConversationJson, ConversationSpec, RoundRef, Turn } from './types.ts';

const FORBIDDEN = /[:|[\]]/;

/** The `base` value the official CLI writes (unused for segmentation, but the loader requires the key). */
export const BASE_NULL = '[null]';

function checkField(what: string, v: string, convId: string): void {
  if (v.length === 0 || FORBIDDEN.test(v)) {
    throw new ConversationFormatError(
      `${what} "${v}" must be non-empty and free of ':', '|', '[' and ']'; rename it before generating`,
      convId,
    );
  }
}

function maskIdText(id: MaskId, convId: string): string {
  const s = String(id);
  if (typeof id === 'number' && !Number.isInteger(id)) {
    throw new ConversationFormatError(`mask id ${id} must be an integer or a string`, convId);
  }
  checkField('mask id', s, convId);
  if (typeof id === 'string' && /^-?\d+$/.test(s)) {
    throw new ConversationFormatError(`string mask id "${s}" looks numeric; pass it as a number`, convId);
  }
  return s;
}

/** Replaces markup characters in free text (captions) so a question can never contain a bracket. */
export function cleanText(s: string): string {
  return s.replace(/\[/g, '(').replace(/\]/g, ')').replace(/\s+/g, ' ').trim();
}

function encodes(refs: RoundRef[], image: string, dataset: string, convId: string): string {
  return refs
    .map((r) => {
      const id = maskIdText(r.mask, convId);
      return `[MASK-ENCODE:${image}|${dataset}|${id}][BOX-ENCODE:${image}|${dataset}|${id}]`;
    })
    .join('');
}

export function decodeMarkup(task: string, refs: MaskId[], target: MaskId, image: string, dataset: string): string {
  const refPart = refs.length === 0 ? 'none' : refs.map((r) => String(r)).join(':');
  return `[MASK-DECODE:${task}:${refPart}:${String(target)}:${image}:${dataset}]`;
}

/** The conversation JSON item for a spec; throws ConversationFormatError for specs that cannot be written. */
export function formatConversation(spec: ConversationSpec): ConversationJson {
  const { convId, image, dataset, rounds } = spec;
  checkField('image path', image, convId);
  checkField('dataset name', dataset, convId);
  if (rounds.length === 0) throw new ConversationFormatError('a conversation needs at least one round', convId);
  if (rounds.some((r) => r.refs.length > 2)) {
    throw new ConversationFormatError('a round may reference at most two masks', convId);
  }
  const turns: Turn[] = [];
  rounds.forEach((r, i) => {
    const k = i + 1;
    checkField('task type', r.task, convId);
    const text = cleanText(r.text);
    if (text.length === 0) throw new ConversationFormatError(`round ${k} has an empty question`, convId);
    const target = maskIdText(r.target, convId);
    for (const ref of r.refs) {
      if (ref.round === null) {
        if (k !== 1) throw new ConversationFormatError(`round ${k}: only round 1 may reference a given mask`, convId);
      } else {
        if (!Number.isInteger(ref.round) || ref.round < 1 || ref.round >= k) {
          throw new ConversationFormatError(`round ${k} references round ${ref.round}, which is not earlier`, convId);
        }
        if (String(rounds[ref.round - 1].target) !== String(ref.mask)) {
          throw new ConversationFormatError(
            `round ${k} references round ${ref.round} with mask ${ref.mask}, but that round's target is ${rounds[ref.round - 1].target}`,
            convId,
          );
        }
      }
    }
    const enc = encodes(r.refs, image, dataset, convId);
    if (k === 1) {
      if (r.refs.some((x) => x.round !== null)) {
        throw new ConversationFormatError('round 1 cannot reference an earlier round', convId);
      }
      turns.push({ from: 'human', value: enc ? `[IMAGE256:${image}]${enc}${text}` : `[IMAGE256:${image}] ${text}` });
    } else if (r.refs.length > 0) {
      turns.push({ from: 'human', value: `${enc}${text}`, ind: r.refs.map((x) => x.round!) });
    } else {
      turns.push({ from: 'human', value: text, ind: [-1] });
    }
    turns.push({
      from: 'gpt',
      value: decodeMarkup(r.task, r.refs.map((x) => x.mask), target, image, dataset),
    });
  });
  return { conv_id: convId, task: 'segmentation', base: BASE_NULL, conversations: turns };
}
