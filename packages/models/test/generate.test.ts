import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator } from '@segllm/tensor';
import { LlamaForCausalLM, generate, loadLlama, nextToken, parseLlamaConfig, topKFilter, topPFilter } from '../src/index.ts';
import { readMiniSafetensors } from './mini-safetensors.ts';
import { fixture } from './model-fixtures.ts';

describe('sampling warpers (HF semantics)', () => {
  it('top-k keeps every score tied with the k-th largest', () => {
    const s = Float64Array.from([1, 3, 2, 3, 0]);
    topKFilter(s, 2);
    expect(Array.from(s)).toEqual([-Infinity, 3, -Infinity, 3, -Infinity]);
    const t = Float64Array.from([1, 3, 2, 0]);
    topKFilter(t, 0);
    expect(Array.from(t)).toEqual([1, 3, 2, 0]);
  });

  it('top-p drops the least likely tokens whose cumulative probability stays <= 1 - p', () => {
    const s = Float64Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
    topPFilter(s, 0.75);
    expect(Array.from(s, (v) => (v === -Infinity ? 0 : Math.round(Math.exp(v) * 100) / 100))).toEqual([0.5, 0.3, 0, 0]);
    const one = Float64Array.from([0.9, 0.1].map(Math.log));
    topPFilter(one, 0.01);
    expect(Array.from(one, (v) => v !== -Infinity)).toEqual([true, false]); // at least one token is kept
  });

  it('samples with the seeded generator in proportion to the probabilities', () => {
    const logits = [0.5, 0.3, 0.2].map(Math.log);
    const g = new Generator(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[nextToken(logits, { doSample: true }, g)]++;
    expect(counts.map((c) => Math.round((c / 4000) * 10) / 10)).toEqual([0.5, 0.3, 0.2]);
    expect(nextToken([0, 2, 2, 1], {}, g)).toBe(1); // greedy: the first maximum
    expect(() => nextToken(logits, { doSample: true, temperature: 0 }, g)).toThrow(/temperature/);
  });
});

describe('sampled generation with the tiny LLaMA', () => {
  it('is reproducible for a seed, and top-k 1 equals greedy', async () => {
    const weights = fixture('llama_tiny.weights.safetensors');
    const config = parseLlamaConfig((JSON.parse(readMiniSafetensors(readFileSync(weights)).metadata.about) as { config: unknown }).config);
    const model = new LlamaForCausalLM(config);
    const r = await loadLlama(model, weights);
    expect(r.skipped).toEqual([]);
    const prompt = [5, 17, 200, 33];
    const run = async (o: Parameters<typeof generate>[2]) => {
      const { tokens, cache } = await generate(model, prompt, o);
      cache.dispose();
      return tokens;
    };
    const a = await run({ maxNewTokens: 12, doSample: true, temperature: 1.5, topP: 0.95, generator: new Generator(11) });
    const b = await run({ maxNewTokens: 12, doSample: true, temperature: 1.5, topP: 0.95, generator: new Generator(11) });
    const c = await run({ maxNewTokens: 12, doSample: true, temperature: 1.5, topP: 0.95, generator: new Generator(12) });
    expect(a).toHaveLength(12);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const greedy = await run({ maxNewTokens: 12 });
    expect(await run({ maxNewTokens: 12, doSample: true, topK: 1, generator: new Generator(5) })).toEqual(greedy);
    expect(await run({ maxNewTokens: 0 })).toEqual([]);
    model.dispose();
  });
});
