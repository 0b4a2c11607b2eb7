import { describe, expect, it } from 'vitest';
import { QUERY_TYPES, SLOTS, TemplateError, fillTemplate, templates } from './banks.ts';

describe('template banks', () => {
  for (const type of QUERY_TYPES) {
    it(`${type}: >= 100 training and >= 50 validation forms, disjoint, with exactly its slots`, () => {
      const train = templates(type, 'train');
      const val = templates(type, 'val');
      expect(train.length).toBeGreaterThanOrEqual(100);
      expect(val.length).toBeGreaterThanOrEqual(50);
      expect(new Set(train).size).toBe(train.length);
      expect(new Set(val).size).toBe(val.length);
      const trainSet = new Set(train);
      expect(val.filter((t) => trainSet.has(t))).toEqual([]);
      for (const t of [...train, ...val]) {
        const slots = [...t.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect(slots).toEqual([...SLOTS[type]].sort());
        expect(t[0]).toBe(t[0].toUpperCase());
        expect(t).toMatch(/[.?]$/);
        expect(t).not.toMatch(/[[\]]/);
      }
    });
  }

  it('fills slots and rejects a missing one', () => {
    expect(fillTemplate('Segment {target} now.', { target: 'the cat' })).toBe('Segment the cat now.');
    expect(() => fillTemplate('Segment {target}.', {})).toThrow(TemplateError);
  });
});
