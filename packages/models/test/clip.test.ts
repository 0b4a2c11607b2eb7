import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import type { Goldens } from '@segllm/tensor/testing';
import { zeros } from '@segllm/tensor';
import { readMiniSafetensors } from './mini-safetensors.ts';
import { readFileSync } from 'node:fs';
import { ClipInputError, ClipVisionTransformer, loadClipVision, parseClipVisionConfig } from '../src/index.ts';
import { GRAD_TOL, OUT_TOL, expectClose, fixture, goldens } from './model-fixtures.ts';

const weights = fixture('clip_vision_tiny.weights.safetensors');
const about = JSON.parse(readMiniSafetensors(readFileSync(weights)).metadata.about) as { config: unknown };
const config = parseClipVisionConfig(about.config);

describe.each(await availableBackends())('CLIP vision tower on %s (clip_vision_tiny goldens)', (backend) => {
  let model: ClipVisionTransformer;
  let g: Goldens;
  beforeAll(async () => {
    model = new ClipVisionTransformer(config, { backend });
    const report = await loadClipVision(model, weights);
    expect(report.prefix).toBe('');
    expect(report.missing).toEqual([]);
    g = await goldens('clip_vision_tiny', backend);
  });
  afterAll(() => {
    model.dispose();
    g.dispose();
  });

  it('computes the hidden states, the last hidden state and the pooler output', async () => {
    const out = model.forward(g.get('pixel_values'));
    expect(out.hidden_states).toHaveLength(config.num_hidden_layers + 1);
    await expectClose(out.last_hidden_state, g.get('last_hidden_state'), OUT_TOL, 'last_hidden_state');
    await expectClose(out.pooler_output, g.get('pooler_output'), OUT_TOL, 'pooler_output');
    const hs = g.get('hidden_states'); // [L+1, B, T, D]
    for (let i = 0; i < out.hidden_states.length; i++) await expectClose(out.hidden_states[i], hs.select(0, i), OUT_TOL, `hidden_states[${i}]`);
    for (const t of [...out.hidden_states, out.pooler_output]) t.dispose();
  });

  it('selects LLaVA features: layer -2 without CLS, and CLS alone', async () => {
    const hs = g.get('hidden_states'); // [L+1, B, T, D]
    const patch = model.features(g.get('pixel_values'), { selectLayer: -2, selectFeature: 'patch' });
    expect(patch.shape).toEqual([2, 16, 64]);
    await expectClose(patch, hs.select(0, config.num_hidden_layers - 1).slice(1, 1), OUT_TOL, 'patch features');
    const cls = model.features(g.get('pixel_values'), { selectLayer: -2, selectFeature: 'cls' });
    expect(cls.shape).toEqual([2, 1, 64]);
    await expectClose(cls, hs.select(0, config.num_hidden_layers - 1).slice(1, 0, 1), OUT_TOL, 'cls feature');
    patch.dispose();
    cls.dispose();
  });

  it('reproduces the loss and the gradients w.r.t. the input and six parameters', async () => {
    const px = g.get('pixel_values').clone();
    px.requiresGrad = true;
    model.zeroGrad();
    const out = model.forward(px);
    const loss = out.last_hidden_state.mul(g.get('grad_weight_R')).sum().add(out.pooler_output.square().sum());
    await expectClose(loss.reshape([1]), g.get('loss'), OUT_TOL, 'loss');
    loss.backward();
    await expectClose(px.grad!, g.get('grad.pixel_values'), GRAD_TOL, 'grad.pixel_values');
    const params = new Map(model.namedParameters());
    const names = g.keys().filter((k) => k.startsWith('grad.') && k !== 'grad.pixel_values');
    expect(names).toHaveLength(6);
    for (const name of names) await expectClose(params.get(name.slice(5))!.grad!, g.get(name), GRAD_TOL, name);
    model.zeroGrad();
    px.dispose();
  });

  it('rejects an image whose patch grid does not match the config', () => {
    const x = zeros([1, 3, 70, 70], { backend });
    expect(() => model.forward(x)).toThrow(ClipInputError);
    x.dispose();
  });
});

describe('CLIP patch grids', () => {
  it('sizes the position table from the config: 224 -> 256 patches, 336 -> 576', () => {
    for (const [image_size, patches] of [[224, 256], [336, 576]]) {
      const cfg = parseClipVisionConfig({ hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, image_size, patch_size: 14 });
      const m = new ClipVisionTransformer(cfg);
      expect(m.embeddings.position_embedding.weight.shape).toEqual([patches + 1, 8]);
      const x = zeros([1, 3, image_size, image_size]);
      const f = m.features(x, { selectLayer: -1, selectFeature: 'patch' });
      expect(f.shape).toEqual([1, patches, 8]);
      f.dispose();
      x.dispose();
      m.dispose();
    }
  });
});
