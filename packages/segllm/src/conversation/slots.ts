/**
 * Where each injected embedding goes: walks token ids and assigns every `<video>` slot to an image patch or to the
 * mask/box encoding of a referenced round, and finds every `<seg>` (decoded from the hidden state one position
 * before it).
 */
import type { RoundInput } from './rounds.ts';
import { SegLLMError } from '../errors.ts';

export type Slot =
  | { kind: 'image'; position: number; patch: number }
  | { kind: 'mask'; position: number; ref: number }
  | { kind: 'box'; position: number; ref: number }
  /** Given mask `index` (0-based) of round `round` (1-based) and its box. */
  | { kind: 'givenMask'; position: number; round: number; index: number }
  | { kind: 'givenBox'; position: number; round: number; index: number };

export interface SlotLayout {
  slots: Slot[];
  /** Position of each round's `<seg>` token, in round order. */
  segPositions: number[];
}

export class SlotMismatchError extends SegLLMError {
  override name = 'SlotMismatchError';
}

/**
 * `ids` are the tokens of rounds[first..] (positions start at `offset`); `first` is the index of the first round they
 * contain (0 when they start with the system prompt).
 */
export function layoutSlots(ids: readonly number[], rounds: readonly RoundInput[], slotId: number, segId: number, imageSlots = 256, first = 0, offset = 0): SlotLayout {
  type Pending = { kind: 'image'; patch: number } | { kind: 'mask' | 'box'; ref: number } | { kind: 'givenMask' | 'givenBox'; round: number; index: number };
  const expected: Pending[] = [];
  for (let i = first; i < rounds.length; i++) {
    if (i === 0) for (let p = 0; p < imageSlots; p++) expected.push({ kind: 'image', patch: p });
    for (let g = 0; g < (rounds[i].given ?? 0); g++) expected.push({ kind: 'givenMask', round: i + 1, index: g }, { kind: 'givenBox', round: i + 1, index: g });
    for (const ref of rounds[i].refs) expected.push({ kind: 'mask', ref }, { kind: 'box', ref });
  }
  const slots: Slot[] = [];
  const segPositions: number[] = [];
  ids.forEach((id, i) => {
    if (id === slotId) {
      const e = expected[slots.length];
      if (!e) throw new SlotMismatchError(`more <video> tokens than injected embeddings (${expected.length}): does the text contain '<video>'?`);
      slots.push({ ...e, position: offset + i });
    } else if (id === segId) segPositions.push(offset + i);
  });
  if (slots.length !== expected.length) throw new SlotMismatchError(`${slots.length} <video> tokens for ${expected.length} injected embeddings`);
  if (segPositions.length !== rounds.length - first) throw new SlotMismatchError(`${segPositions.length} <seg> tokens for ${rounds.length - first} rounds: does the text contain '<seg>'?`);
  return { slots, segPositions };
}
