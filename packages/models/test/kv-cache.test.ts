import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import type { Tensor } from '@segllm/tensor';
import { Generator, cat, getBackend, liveTensorCount, noGrad, randint, randn } from '@segllm/tensor';
import { KVCache, KVCacheError, LlamaForCausalLM, loadCheckpoint, parseLlamaConfig } from '../src/index.ts';
import { readMiniSafetensors } from './mini-safetensors.ts';
import { readFileSync } from 'node:fs';
import { OUT_TOL, expectClose, fixture } from './model-fixtures.ts';

const weights = fixture('llama_tiny.weights.safetensors');
const config = parseLlamaConfig((JSON.parse(readMiniSafetensors(readFileSync(weights)).metadata.about) as { config: unknown }).config);

describe.each(await availableBackends())('LLaMA KV cache on %s', (backend) => {
  let model: LlamaForCausalLM;
  let ids: Tensor; // [2, 20]
  let full: Tensor; // [2, 20, 256]
  beforeAll(async () => {
    model = new LlamaForCausalLM(config, { backend });
    await loadCheckpoint(model, weights);
    ids = randint(3, 256, [2, 20], { backend, generator: new Generator(7) });
  });
  afterAll(() => {
    model.dispose();
    ids.dispose();
    full?.dispose();
  });
  const fullLogits = (): Tensor => {
    if (!full) {
      const out = noGrad(() => model.forward({ inputIds: ids }));
      out.last_hidden_state.dispose();
      full = out.logits!;
    }
    return full;
  };

  for (const maxLength of [32, undefined]) {
    const kind = maxLength ? 'preallocated' : 'growing';
    it(`prefill + 8 single-token steps equals one full forward (${kind})`, async () => {
        const cache = model.makeCache(2, maxLength);
        const steps: Tensor[] = [];
        noGrad(() => {
          const pre = model.forward({ inputIds: ids.slice(1, 0, 12), cache });
          steps.push(pre.logits!);
          pre.last_hidden_state.dispose();
          for (let t = 12; t < 20; t++) {
            const o = model.forward({ inputIds: ids.slice(1, t, t + 1), cache, logits: 'last' });
            steps.push(o.logits!);
            o.last_hidden_state.dispose();
          }
        });
        expect(cache.length).toBe(20);
        const got = cat(steps, 1); // [2, 20, 256]
        await expectClose(got, fullLogits(), OUT_TOL, `cached logits (${kind})`);
        for (const t of [...steps, got]) t.dispose();
        cache.dispose();
      });

    it(`extending a cached sequence by a second chunk equals re-running the whole sequence (${kind})`, async () => {
        const cache = model.makeCache(2, maxLength);
        const [a, b, c] = noGrad(() => [
          model.forward({ inputIds: ids.slice(1, 0, 5), cache, logits: 'none' }),
          model.forward({ inputIds: ids.slice(1, 5, 13), cache }),
          model.forward({ inputIds: ids.slice(1, 13, 20), cache }),
        ]);
        expect(a.logits).toBeNull();
        await expectClose(b.logits!, fullLogits().slice(1, 5, 13), OUT_TOL, 'second chunk');
        await expectClose(c.logits!, fullLogits().slice(1, 13, 20), OUT_TOL, 'third chunk');
        for (const o of [a, b, c]) {
          o.logits?.dispose();
          o.last_hidden_state.dispose();
        }
        cache.truncate(5);
        const again = noGrad(() => model.forward({ inputIds: ids.slice(1, 5, 13), cache }));
        await expectClose(again.logits!, fullLogits().slice(1, 5, 13), OUT_TOL, 'after truncate');
        again.logits!.dispose();
        again.last_hidden_state.dispose();
        cache.dispose();
      });
  }

  for (const maxLength of [1000, undefined]) {
    it(`truncating and disposing a ${maxLength ? 'preallocated' : 'growing'} cache of 1000 positions frees every tensor and byte (issue 17, point 3)`, async () => {
      const stats = () => getBackend(backend).memoryStats?.().live ?? 0;
      const [tensors0, bytes0] = [liveTensorCount(), stats()];
      const cache = new KVCache({ numLayers: 2, batch: 1, numKvHeads: 2, headDim: 64, maxLength, backend });
      const k = randn([1, 2, 1000, 64], { backend }); // [B, Hk, T, hd]
      noGrad(() => {
        for (let l = 0; l < 2; l++) for (const t of cache.update(l, k, k)) t.dispose();
      });
      cache.advance(1000);
      for (const len of [900, 500, 499, 10, 0]) {
        cache.truncate(len);
        expect(cache.length).toBe(len);
      }
      const k3 = k.narrow(2, 0, 3); // [1, 2, 3, 64]
      noGrad(() => {
        for (let l = 0; l < 2; l++) for (const t of cache.update(l, k3, k3)) t.dispose();
      });
      k3.dispose();
      cache.advance(3);
      cache.truncate(1);
      k.dispose();
      cache.dispose();
      await getBackend(backend).sync?.();
      expect(liveTensorCount() - tensors0).toBe(0);
      expect(stats() - bytes0).toBe(0);
    });
  }

  it('rejects a chunk that overflows a preallocated cache, and a cache of another shape', () => {
    const cache = new KVCache({ numLayers: 2, batch: 2, numKvHeads: 2, headDim: 16, maxLength: 4, backend });
    expect(() => noGrad(() => model.forward({ inputIds: ids.slice(1, 0, 5), cache }))).toThrow(KVCacheError);
    cache.dispose();
    const wrong = model.makeCache(1, 8);
    expect(() => noGrad(() => model.forward({ inputIds: ids.slice(1, 0, 2), cache: wrong }))).toThrow(KVCacheError);
    wrong.dispose();
  });
});
