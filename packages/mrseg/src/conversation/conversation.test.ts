import { describe, expect, it } from 'vitest';
import { ConversationFormatError } from './errors.ts';
import { formatConversation } from './format.ts';
import { parseConversation } from './parse.ts';
import type { ConversationSpec } from './types.ts';

const IMG = 'coco/train2014/COCO_train2014_000000122469.jpg';
const spec: ConversationSpec = {
  convId: 'c1',
  image: IMG,
  dataset: 'refcocog',
  rounds: [
    { text: 'Segment the woman [in black].', task: 'referring', target: 251837, refs: [] },
    { text: 'Segment the dog to the left of instance 1.', task: 'positional', target: 7, refs: [{ round: 1, mask: 251837 }] },
    { text: 'Segment the sky.', task: 'referring', target: 'sky_3', refs: [] },
  ],
};

describe('formatConversation', () => {
  it('writes the section 8.2 markup exactly', () => {
    const json = formatConversation(spec);
    expect(json).toEqual({
      conv_id: 'c1',
      task: 'segmentation',
      base: '[null]',
      conversations: [
        { from: 'human', value: `[IMAGE256:${IMG}] Segment the woman (in black).` },
        { from: 'gpt', value: `[MASK-DECODE:referring:none:251837:${IMG}:refcocog]` },
        {
          from: 'human',
          value: `[MASK-ENCODE:${IMG}|refcocog|251837][BOX-ENCODE:${IMG}|refcocog|251837]Segment the dog to the left of instance 1.`,
          ind: [1],
        },
        { from: 'gpt', value: `[MASK-DECODE:positional:251837:7:${IMG}:refcocog]` },
        { from: 'human', value: 'Segment the sky.', ind: [-1] },
        { from: 'gpt', value: `[MASK-DECODE:referring:none:sky_3:${IMG}:refcocog]` },
      ],
    });
  });

  it('writes a round-1 given-mask reference (hard queries) after the image', () => {
    const json = formatConversation({
      convId: 'h',
      image: 'a.png',
      dataset: 'shapes',
      rounds: [{ text: 'Segment the other cat.', task: 'hard', target: 2, refs: [{ round: null, mask: 1 }] }],
    });
    expect(json.conversations[0]).toEqual({
      from: 'human',
      value: '[IMAGE256:a.png][MASK-ENCODE:a.png|shapes|1][BOX-ENCODE:a.png|shapes|1]Segment the other cat.',
    });
    expect(json.conversations[1].value).toBe('[MASK-DECODE:hard:1:2:a.png:shapes]');
  });

  it('rejects specs that cannot be written', () => {
    const bad = (patch: Partial<ConversationSpec>): (() => unknown) => () => formatConversation({ ...spec, ...patch });
    expect(bad({ image: 'c:/x.jpg' })).toThrow(ConversationFormatError);
    expect(bad({ dataset: 'a|b' })).toThrow(/free of/);
    expect(bad({ rounds: [] })).toThrow(/at least one round/);
    const r = spec.rounds;
    expect(bad({ rounds: [r[0], { ...r[1], refs: [{ round: 2, mask: 7 }] }] })).toThrow(/not earlier/);
    expect(bad({ rounds: [r[0], { ...r[1], refs: [{ round: 1, mask: 9 }] }] })).toThrow(/target is 251837/);
    expect(bad({ rounds: [{ ...r[0], target: '12' }] })).toThrow(/looks numeric/);
    expect(bad({ rounds: [r[0], { ...r[1], refs: [{ round: null, mask: 9 }] }] })).toThrow(/only round 1/);
  });
});

describe('parseConversation', () => {
  it('round-trips a formatted conversation into typed rounds', () => {
    const parsed = parseConversation(JSON.parse(JSON.stringify(formatConversation(spec))));
    expect(parsed.convId).toBe('c1');
    expect(parsed.image).toBe(IMG);
    expect(parsed.dataset).toBe('refcocog');
    expect(parsed.rounds).toEqual([
      { index: 1, text: 'Segment the woman (in black).', task: 'referring', target: 251837, refs: [], decodeRefs: [] },
      {
        index: 2,
        text: 'Segment the dog to the left of instance 1.',
        task: 'positional',
        target: 7,
        refs: [{ round: 1, mask: 251837 }],
        decodeRefs: [251837],
      },
      { index: 3, text: 'Segment the sky.', task: 'referring', target: 'sky_3', refs: [], decodeRefs: [] },
    ]);
  });

  it('accepts the official variants: short decode, trailing ".", int ind, encode without a space', () => {
    const parsed = parseConversation({
      task: 'segmentation',
      conversations: [
        { from: 'human', value: '[IMAGE256:x.jpg] Segment the man.' },
        { from: 'gpt', value: '[MASK-DECODE:x.jpg|refcoco|5]' },
        { from: 'human', value: '[MASK-ENCODE:x.jpg|refcoco|5]Segment the person next to instance 1.', ind: 1 },
        { from: 'gpt', value: '[MASK-DECODE:relational:5:6:x.jpg:refcoco].' },
        { from: 'human', value: 'Segment it.', ind: -1 },
        { from: 'gpt', value: '[MASK-DECODE:seg:5:6:none:x.jpg:refcoco]' },
      ],
    });
    expect(parsed.convId).toBeNull();
    expect(parsed.rounds.map((r) => [r.task, r.target, r.refs, r.decodeRefs, r.text])).toEqual([
      [null, 5, [], [], 'Segment the man.'],
      ['relational', 6, [{ round: 1, mask: 5 }], [5], 'Segment the person next to instance 1.'],
      ['seg', null, [], [5, 6], 'Segment it.'],
    ]);
  });

  const base = (): { task: string; conversations: { from: string; value: string; ind?: unknown }[] } =>
    JSON.parse(JSON.stringify(formatConversation(spec))) as never;
  const malformed: [string, (c: ReturnType<typeof base>) => void, RegExp][] = [
    ['missing image', (c) => (c.conversations[0].value = 'Segment the woman.'), /must start with "\[IMAGE256/],
    ['unclosed bracket', (c) => (c.conversations[0].value = `[IMAGE256:${IMG} Segment`), /unclosed/],
    ['bracket inside the question', (c) => (c.conversations[4].value = 'Segment [REF:1] the sky.'), /markup must precede/],
    ['image again in round 2', (c) => (c.conversations[4].value = `[IMAGE256:${IMG}] Segment the sky.`), /after round 1/],
    ['wrong speaker order', (c) => (c.conversations[1].from = 'human'), /expected a gpt turn/],
    ['odd number of turns', (c) => c.conversations.pop(), /pairs/],
    ['bad task', (c) => (c.task = 'chat'), /"task" must be "segmentation"/],
    ['gpt text beyond the decode', (c) => (c.conversations[1].value += ' sure'), /exactly "\[MASK-DECODE/],
    ['decode with 4 fields', (c) => (c.conversations[1].value = `[MASK-DECODE:a:b:c:d]`), /4 ':' fields/],
    ['ind pointing at the future', (c) => (c.conversations[2].ind = [2]), /not an earlier round/],
    ['ind count mismatch', (c) => (c.conversations[2].ind = [-1]), /names 0 round/],
    ['ind not integers', (c) => (c.conversations[2].ind = ['1']), /integer/],
    ['encode of a mask that is not the round target', (c) => (c.conversations[2].value = c.conversations[2].value.replaceAll('251837', '9')), /not the target/],
    ['box encode alone', (c) => (c.conversations[2].value = `[BOX-ENCODE:${IMG}|refcocog|251837] x`), /directly follow/],
    ['box encode of another mask', (c) => (c.conversations[2].value = `[MASK-ENCODE:${IMG}|refcocog|251837][BOX-ENCODE:${IMG}|refcocog|2] x`), /must repeat/],
    ['encode of another image', (c) => (c.conversations[2].value = c.conversations[2].value.replaceAll(IMG, 'b.jpg')), /differs from the conversation image/],
    ['decode of another dataset', (c) => (c.conversations[3].value = c.conversations[3].value.replace(':refcocog]', ':lvis]')), /dataset "lvis" differs/],
    ['empty question', (c) => (c.conversations[4].value = ''), /question is empty/],
  ];
  for (const [name, mutate, msg] of malformed) {
    it(`rejects ${name}`, () => {
      const c = base();
      mutate(c);
      let err: unknown;
      try {
        parseConversation(c);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConversationFormatError);
      expect((err as Error).name).toBe('ConversationFormatError');
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).toMatch(/^conversation c1/);
    });
  }

  it('rejects a non-object item', () => {
    expect(() => parseConversation([1])).toThrow(ConversationFormatError);
  });
});
