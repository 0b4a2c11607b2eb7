/** `segllm demo`: the tiny random SegLLM on an MRSeg-Shapes scene, 3 rounds with a reference, the random-weights notice. */
import { describe, expect, it } from 'vitest';
import { VAL_SEED, generateShapesSample } from '@segllm/mrseg';
import { parseSegLLMConfig, tinySegLLMConfig } from '@segllm/core';
import { pickConversation, runDemo } from '../src/commands/demo.ts';
import { tinyConfigJson } from '../src/lib/model.ts';
import { captureIo } from './helpers.ts';

describe('segllm demo', () => {
  it('picks a 3-round conversation with a reference to an earlier round', () => {
    const s = generateShapesSample(0, 'val', VAL_SEED, { nextAnn: 1, nextRel: 1 });
    const c = pickConversation(Object.values(s.conversations).flat())!;
    expect(c.rounds).toHaveLength(3);
    expect(c.rounds.slice(1).some((r) => r.refs.some((x) => x.round !== null && x.round < r.index))).toBe(true);
  });

  it('prints each stage, three rounds with times, areas and IoUs, and says the weights are random', async () => {
    const io = captureIo();
    expect(await runDemo(['--device', 'cpu'], io), io.stderr()).toBe(0);
    const out = io.stdout();
    expect(out).toContain('NOTE: this model has RANDOM weights');
    expect(out).toMatch(/^1\. model: tiny SegLLM .* parameters, built in \d+ ms$/m);
    expect(out).toMatch(/^2\. scene: MRSeg-Shapes val #0 \(\d+x\d+, \d+ objects, \d+ annotations\)/m);
    expect(out).toMatch(/^3\. image encodings .*: \d+ ms$/m);
    const rounds = [...out.matchAll(/^ {5}(\d+) ms; box \[.*\] score [\d.]+; mask (\d+) px \(([\d.]+)%\); IoU vs ground truth ([\d.]+)(; used round (\d+)'s)?/gm)];
    expect(rounds).toHaveLength(3);
    for (const r of rounds) expect(Number(r[4])).toBeGreaterThanOrEqual(0);
    for (const r of rounds) expect(Number(r[4])).toBeLessThanOrEqual(1);
    expect(rounds.some((r) => r[6] !== undefined)).toBe(true);
    expect(out).toContain('segllm chat --model <checkpoint dir>');
  });

  it('the tiny checkpoint config.json parses to the tinySegLLMConfig of core', () => {
    expect(parseSegLLMConfig(tinyConfigJson(256))).toEqual(tinySegLLMConfig({ imageSize: 256 }));
  });

  it('rejects unknown options', async () => {
    const io = captureIo();
    expect(await runDemo(['--fast'], io)).toBe(2);
    expect(io.stderr()).toContain('usage: segllm demo');
  });
});
