import { describe, expect, it } from 'vitest';
import { Rng, hashString, rngFor } from './rng.ts';

const draw = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(draw(new Rng(7), 8)).toEqual(draw(new Rng(7), 8));
    expect(draw(new Rng(7), 8)).not.toEqual(draw(new Rng(8), 8));
  });

  it('int covers its inclusive range roughly uniformly', () => {
    const r = new Rng(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.int(1, 6) - 1]++;
    for (const n of counts) expect(Math.abs(n - 10000)).toBeLessThan(400);
  });

  it('shuffle is a permutation and sample takes distinct items', () => {
    const r = new Rng(3);
    const xs = Array.from({ length: 20 }, (_, i) => i);
    expect(r.shuffle(xs).sort((p, q) => p - q)).toEqual(xs);
    const s = r.sample(xs, 5);
    expect(new Set(s).size).toBe(5);
    expect(r.sample(xs, 50)).toHaveLength(20);
  });

  it('rngFor streams depend on the key and the seed', () => {
    expect(rngFor(1, 'a').nextU32()).toBe(rngFor(1, 'a').nextU32());
    expect(rngFor(1, 'a').nextU32()).not.toBe(rngFor(1, 'b').nextU32());
    expect(rngFor(1, 'a').nextU32()).not.toBe(rngFor(2, 'a').nextU32());
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
  });
});
