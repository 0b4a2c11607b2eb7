import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Tokenizer } from '@segllm/models';
import { EmptyPromptError, InvalidReferenceError } from '../errors.ts';
import { layoutSlots, parseRound, renderConversation } from './index.ts';
import type { RoundInput } from './index.ts';

const FIX = new URL('../../../models/test/fixtures/tokenizer/', import.meta.url);
const tok = Tokenizer.fromString(gunzipSync(readFileSync(new URL('tokenizer.json.gz', FIX))).toString('utf8'));
const gold = JSON.parse(readFileSync(new URL('tokenize.json', FIX), 'utf8')) as { prompts: Record<string, string>; input_ids: Record<string, number[]> };

// The conversations behind the golden prompts (make_tokenizer_goldens.py), written as a user types them.
const CASES: Record<string, string[]> = {
  round1: ['Segment the cat.'],
  round2_ref: ['Segment the cat.', 'Segment the object that instance 1 is standing on.[REF:1]'],
  round3_noref: ['Can you segment the dog?', 'Can you segment the frisbee caught by instance 1 in the air?[REF:1]', 'Segment the  person   on the left, near 3 bikes!'],
};

const parseAll = (texts: string[]): RoundInput[] => texts.map((t, i) => parseRound(t, i + 1));

describe('SegLLM conversation template', () => {
  it.each(Object.keys(CASES))('renders %s exactly as the released code and tokenises to the golden ids', (name) => {
    const prompt = renderConversation(parseAll(CASES[name]));
    expect(prompt).toBe(gold.prompts[name]);
    expect(tok.encode(prompt)).toEqual(gold.input_ids[name]);
  });

  it('looks the special tokens up in the tokenizer', () => {
    expect(tok.tokenToId('<video>')).toBe(32006);
    expect(tok.tokenToId('<seg>')).toBe(32009);
  });

  it('tokenising round by round gives the same ids as the whole conversation (prefix stability)', () => {
    const rounds = parseAll(CASES.round3_noref);
    let prev: number[] = [];
    for (let k = 1; k <= rounds.length; k++) {
      const ids = tok.encode(renderConversation(rounds.slice(0, k)));
      expect(ids.slice(0, prev.length)).toEqual(prev);
      prev = ids;
    }
  });

  it('lays out image, mask and box slots and finds each <seg>', () => {
    const rounds = parseAll(CASES.round2_ref);
    const ids = tok.encode(renderConversation(rounds));
    const { slots, segPositions } = layoutSlots(ids, rounds, 32006, 32009);
    expect(slots.filter((s) => s.kind === 'image')).toHaveLength(256);
    expect(slots.slice(256).map((s) => s.kind)).toEqual(['mask', 'box']);
    expect(slots.slice(256).map((s) => (s.kind === 'mask' || s.kind === 'box' ? s.ref : -1))).toEqual([1, 1]);
    expect(segPositions).toHaveLength(2);
    expect(segPositions.every((p) => ids[p] === 32009)).toBe(true);
    // The slot pair directly follows "USER:" of round 2.
    expect(ids[slots[256].position + 1]).toBe(32006);
  });

  it('lays out given masks of round 1 right after the image slots, before the text', () => {
    const rounds: RoundInput[] = [{ text: 'Segment the other cat.', refs: [], given: 1 }, parseRound('Segment its tail.[REF:1]', 2)];
    const ids = tok.encode(renderConversation(rounds));
    const { slots } = layoutSlots(ids, rounds, 32006, 32009);
    expect(slots.slice(256).map((s) => s.kind)).toEqual(['givenMask', 'givenBox', 'mask', 'box']);
    expect(slots[256]).toMatchObject({ round: 1, index: 0, position: slots[255].position + 1 });
    expect(slots[257].position).toBe(slots[256].position + 1);
    expect(tok.decode(ids.slice(slots[257].position + 1, slots[257].position + 4))).toBe('Segment the');
  });

  it('honours several [REF:k] tags in order and keeps the spacing of the text', () => {
    const r = parseRound('Segment what is between [REF:2] and [REF:1].', 3);
    expect(r).toEqual({ text: 'Segment what is between  and .', refs: [2, 1] });
  });

  it('rejects references to missing or current rounds, and empty prompts, with typed errors', () => {
    expect(() => parseRound('the helmet [REF:1]', 1)).toThrow(InvalidReferenceError);
    expect(() => parseRound('the helmet [REF:5]', 2)).toThrow(/only rounds 1\.\.1/);
    expect(() => parseRound('the helmet [REF:2]', 2)).toThrow(InvalidReferenceError);
    expect(() => parseRound('[REF:1]  ', 2)).toThrow(EmptyPromptError);
    expect(() => parseRound('', 1)).toThrow(EmptyPromptError);
  });
});
