/** The MRSeg conversation JSON item (segllm-reference.md section 8.2) and its typed, parsed form. */
import type { MaskId } from '../generators/types.ts';

export interface Turn {
  from: 'human' | 'gpt';
  value: string;
  /** Human turns after the first: 1-based indices of the referenced rounds, or [-1] for no reference. */
  ind?: number[];
}

export interface ConversationJson {
  conv_id: string;
  task: 'segmentation';
  /** Unused for segmentation; the official loader reads the key (`sources[0]['base']`), so writers emit "[null]". */
  base: string;
  conversations: Turn[];
}

/** A reference to an earlier round's output (`round` 1-based), or to a given mask (`round` null, hard queries). */
export interface RoundRef {
  round: number | null;
  mask: MaskId;
}

/** One round as the generators produce it. */
export interface RoundSpec {
  /** The question, without markup. */
  text: string;
  /** Task type written in MASK-DECODE ("referring", "positional", "part", "interaction", "hard", ...). */
  task: string;
  target: MaskId;
  refs: RoundRef[];
}

export interface ConversationSpec {
  convId: string;
  image: string;
  dataset: string;
  rounds: RoundSpec[];
}

/** One round read back by `parseConversation`. */
export interface ParsedRound {
  /** 1-based round index. */
  index: number;
  text: string;
  /** Task type from MASK-DECODE, or null for the short `<img>|<ds>|<id>` form. */
  task: string | null;
  /** Target mask id (null for "none"/"NULL"/"" as in ReasonSeg or inference). */
  target: MaskId | null;
  /** References encoded in the human turn (MASK-ENCODE ids with the rounds named by `ind`). */
  refs: RoundRef[];
  /** Reference ids written in MASK-DECODE (none, one or two; the official trainer uses only the first). */
  decodeRefs: MaskId[];
}

export interface ParsedConversation {
  convId: string | null;
  image: string;
  dataset: string;
  rounds: ParsedRound[];
}
