import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import type { Goldens } from '@segllm/tensor/testing';
import { cat, noGrad } from '@segllm/tensor';
import { LlamaForCausalLM, LlamaInputError, causalLmLoss, generate, loadCheckpoint, parseLlamaConfig } from '../src/index.ts';
import { readMiniSafetensors } from './mini-safetensors.ts';
import { GRAD_TOL, OUT_TOL, expectClose, fixture, goldens } from './model-fixtures.ts';

const weights = fixture('llama_tiny.weights.safetensors');
const about = JSON.parse(readMiniSafetensors(readFileSync(weights)).metadata.about) as { config: unknown };
const config = parseLlamaConfig(about.config);

describe.each(await availableBackends())('LLaMA on %s (llama_tiny goldens)', (backend) => {
  let model: LlamaForCausalLM;
  let g: Goldens;
  beforeAll(async () => {
    model = new LlamaForCausalLM(config, { backend });
    await loadCheckpoint(model, weights);
    g = await goldens('llama_tiny', backend);
  });
  afterAll(() => {
    model.dispose();
    g.dispose();
  });

  it('reads the config (GQA, theta from rope_parameters)', () => {
    expect([config.num_attention_heads, config.num_key_value_heads, config.head_dim, config.rope_theta, config.rms_norm_eps]).toEqual([4, 2, 16, 10000, 1e-5]);
  });

  it('computes the logits and the final hidden states', async () => {
      const out = model.forward({ inputIds: g.get('input_ids') });
      await expectClose(out.logits!, g.get('logits'), OUT_TOL, 'logits');
      await expectClose(out.last_hidden_state, g.get('last_hidden_state'), OUT_TOL, 'last_hidden_state');
      const last = model.forward({ inputIds: g.get('input_ids'), logits: 'last' });
      expect(last.logits!.shape).toEqual([2, 1, 256]);
      await expectClose(last.logits!, g.get('logits').slice(1, 11), OUT_TOL, 'last-position logits');
      for (const t of [out.logits!, out.last_hidden_state, last.logits!, last.last_hidden_state]) t.dispose();
    });

  it('reproduces the causal-LM loss and the gradients of seven parameters', async () => {
      model.zeroGrad();
      const ids = g.get('input_ids');
      const out = model.forward({ inputIds: ids });
      const loss = causalLmLoss(out.logits!, ids);
      await expectClose(loss.reshape([1]), g.get('loss'), OUT_TOL, 'loss');
      loss.backward();
      const params = new Map(model.namedParameters());
      const names = g.keys().filter((k) => k.startsWith('grad.'));
      expect(names).toHaveLength(7);
      for (const name of names) await expectClose(params.get(name.slice(5))!.grad!, g.get(name), GRAD_TOL, name);
      model.zeroGrad();
    });

  it('generates the same 10 greedy tokens as HF generate', async () => {
      const prompt = g.get('generate.prompt'); // [1, 7]
      const expected = Array.from(await g.get('generate.output').data()).slice(7);
      const { tokens, cache } = await generate(model, prompt, { maxNewTokens: 10 });
      expect(tokens).toEqual(expected);
      expect(cache.length).toBe(7 + 9);
      cache.dispose();
      const promptIds = Array.from(await prompt.data());
      const grown = await generate(model, promptIds, { maxNewTokens: 10, preallocate: false });
      expect(grown.tokens).toEqual(expected);
      grown.cache.dispose();
      const stopped = await generate(model, promptIds, { maxNewTokens: 10, stopIds: [expected[3]] });
      expect(stopped.tokens).toEqual(expected.slice(0, expected.indexOf(expected[3]) + 1));
      stopped.cache.dispose();
    });

  it('takes inputs_embeds with foreign embeddings spliced in (the LLaVA path)', async () => {
      const ids = g.get('input_ids').slice(0, 0, 1); // [1, 12]
      const emb = noGrad(() => model.embed(ids)); // [1, 12, 64]
      const spliced = cat([emb.slice(1, 0, 4), g.get('spliced.extra_embeds'), emb.slice(1, 4)], 1); // [1, 15, 64]
      const out = noGrad(() => model.forward({ inputsEmbeds: spliced }));
      await expectClose(out.logits!, g.get('spliced.logits'), OUT_TOL, 'spliced.logits');
      for (const t of [emb, spliced, out.logits!, out.last_hidden_state]) t.dispose();
    });

  it('rejects both or neither of inputIds and inputsEmbeds', () => {
    expect(() => model.forward({})).toThrow(LlamaInputError);
  });
});
