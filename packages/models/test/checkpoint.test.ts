import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bf16BitsToF32, deserializeSafetensors, f16BitsToF32, fromNumbers, noGrad, serializeSafetensors, tensor } from '@segllm/tensor';
import type { RawTensor, TensorStore } from '@segllm/tensor';
import { assertClose, loadGoldens } from '@segllm/tensor/testing';
import {
  CheckpointKeyError, CheckpointNotFoundError, ClipVisionTransformer, ConfigError, LlamaForCausalLM, buildProjector, loadCheckpoint, loadClipVision,
  loadLlama, loadProjector, openModelCheckpoint, parseClipVisionConfig, parseLlamaConfig, parseLlavaConfig, readConfigJson,
} from '../src/index.ts';
import { fixture } from './model-fixtures.ts';

const clipFile = deserializeSafetensors(readFileSync(fixture('clip_vision_tiny.weights.safetensors')));
const llamaFile = deserializeSafetensors(readFileSync(fixture('llama_tiny.weights.safetensors')));
const clipConfig = parseClipVisionConfig((JSON.parse(clipFile.metadata.about) as { config: unknown }).config);
const llamaConfigJson = (JSON.parse(llamaFile.metadata.about) as { config: Record<string, unknown> }).config;
const llamaConfig = parseLlamaConfig(llamaConfigJson);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'segllm-models-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, tensors: Record<string, RawTensor>): string {
  const p = join(dir, name);
  writeFileSync(p, serializeSafetensors(tensors));
  return p;
}
const prefixed = (src: Record<string, RawTensor>, prefix: string) => Object.fromEntries(Object.entries(src).map(([k, v]) => [prefix + k, v]));

describe('config.json parsing', () => {
  it('reads CLIP vision fields from a vision config or a full CLIPConfig, with HF defaults', () => {
    expect(clipConfig).toEqual({
      hidden_size: 64, intermediate_size: 256, num_hidden_layers: 3, num_attention_heads: 4, num_channels: 3, image_size: 56, patch_size: 14,
      hidden_act: 'quick_gelu', layer_norm_eps: 1e-5,
    });
    // openai/clip-vit-large-patch14's config.json lists only the non-default vision fields.
    const full = parseClipVisionConfig({ vision_config: { hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14 } });
    expect([full.image_size, full.hidden_act, full.layer_norm_eps, full.num_hidden_layers]).toEqual([224, 'quick_gelu', 1e-5, 24]);
  });

  it('reads LLaMA fields: theta from rope_theta or rope_parameters, KV heads defaulting to the heads', () => {
    expect(parseLlamaConfig({ rope_theta: 500000, num_attention_heads: 8, hidden_size: 256 })).toMatchObject({ rope_theta: 500000, num_key_value_heads: 8, head_dim: 32 });
    expect(llamaConfig).toMatchObject({ vocab_size: 256, num_key_value_heads: 2, rope_theta: 10000, tie_word_embeddings: false, eos_token_id: 2 });
  });

  it('reads the LLaVA/SegLLM fields', () => {
    const c = parseLlavaConfig({ ...llamaConfigJson, mm_vision_select_layer: -2, mm_projector_type: 'mlp2x_gelu', mm_hidden_size: 1024, mm_vision_tower: 'openai/clip-vit-large-patch14' });
    expect(c).toMatchObject({ mm_vision_select_layer: -2, mm_vision_select_feature: 'patch', mm_projector_type: 'mlp2x_gelu', mm_hidden_size: 1024 });
    expect(c.llm.hidden_size).toBe(64);
  });

  it('names the bad field in a ConfigError', () => {
    const bad: [() => unknown, string][] = [
      [() => parseLlamaConfig({ hidden_size: '4096' }), 'hidden_size'],
      [() => parseLlamaConfig({ num_attention_heads: 32, num_key_value_heads: 5 }), 'num_key_value_heads'],
      [() => parseLlamaConfig({ rope_scaling: { rope_type: 'yarn', factor: 4 } }), 'rope_scaling.rope_type'],
      [() => parseClipVisionConfig({ vision_config: { hidden_act: 'relu' } }), 'vision_config.hidden_act'],
      [() => parseClipVisionConfig({ image_size: 224, patch_size: 15 }), 'patch_size'],
      [() => parseLlavaConfig({ mm_projector_type: 'mlp3x_gelu', mm_hidden_size: 1024 }), 'mm_projector_type'],
      [() => parseLlavaConfig({}), 'mm_hidden_size'],
      [() => parseLlavaConfig('{not json'), '<root>'],
    ];
    for (const [fn, field] of bad) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect((err as Error).message).toContain(`"${field}"`);
    }
  });

  it('reads config.json from a folder', async () => {
    const sub = join(dir, 'cfg');
    rmSync(sub, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(sub);
    writeFileSync(join(sub, 'config.json'), JSON.stringify(llamaConfigJson));
    expect(parseLlamaConfig(await readConfigJson(sub))).toEqual(llamaConfig);
  });
});

describe('checkpoint loading', () => {
  const clipParam = async (m: ClipVisionTransformer) => Array.from(await m.pre_layrnorm.weight!.data());
  const expectedPre = Array.from(new Float32Array((clipFile.tensors['pre_layrnorm.weight'].data as Float32Array)));

  it('accepts the CLIP key prefixes of transformers 4, LLaVA/SegLLM and none, skipping the rest of the file', async () => {
    for (const prefix of ['vision_model.', 'model.vision_tower.vision_tower.vision_model.']) {
      const extra = { 'model.vision_tower.vision_tower.visual_projection.weight': clipFile.tensors['pre_layrnorm.weight'], 'lm_head.weight': clipFile.tensors['pre_layrnorm.bias'] };
      const p = write(`clip-${prefix.length}.safetensors`, { ...prefixed(clipFile.tensors, prefix), ...extra });
      const m = new ClipVisionTransformer(clipConfig);
      const r = await loadClipVision(m, p);
      expect(r.prefix).toBe(prefix);
      expect(r.loaded).toHaveLength(Object.keys(clipFile.tensors).length);
      expect(r.skipped.sort()).toEqual(Object.keys(extra).sort());
      expect(await clipParam(m)).toEqual(expectedPre);
      m.dispose();
    }
  });

  it('loads the LLM of a SegLLM-style checkpoint, skipping the vision tower, projector and decoder keys', async () => {
    const extra = {
      'model.mm_projector.0.weight': llamaFile.tensors['model.norm.weight'],
      'model.vision_tower.vision_tower.vision_model.pre_layrnorm.weight': llamaFile.tensors['model.norm.weight'],
      'model.segmentator.hipie.detr.detr.backbone.0.backbone.stem.conv1.weight': llamaFile.tensors['model.norm.weight'],
      'model.mask_enc_head.bias': llamaFile.tensors['model.norm.weight'],
    };
    const p = write('segllm-like.safetensors', { ...llamaFile.tensors, ...extra });
    const m = new LlamaForCausalLM(llamaConfig);
    const r = await loadLlama(m, p);
    expect(r.skipped.sort()).toEqual(Object.keys(extra).sort());
    expect(r.loaded).toHaveLength(Object.keys(llamaFile.tensors).length);
    await expect(loadCheckpoint(m, p)).rejects.toThrow(/4 checkpoint keys have no place in the model/);
    m.dispose();
  });

  it('reports missing, unexpected and mis-shaped keys readably', async () => {
    const t = { ...llamaFile.tensors };
    delete t['model.norm.weight'];
    t['model.layers.0.self_attn.rotary_emb.inv_freq'] = llamaFile.tensors['model.norm.weight'];
    t['lm_head.weight'] = llamaFile.tensors['model.layers.0.self_attn.q_proj.weight'];
    const p = write('llama-bad.safetensors', t);
    const m = new LlamaForCausalLM(llamaConfig);
    const err = await loadCheckpoint(m, p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointKeyError);
    const e = err as CheckpointKeyError;
    expect(e.mismatched.map((x) => x.key)).toEqual(['lm_head.weight']);
    expect(e.message).toContain('lm_head.weight is [64, 64], the model wants [256, 64]');
    delete t['lm_head.weight'];
    const p2 = write('llama-bad2.safetensors', { ...t, 'lm_head.weight': llamaFile.tensors['lm_head.weight'] });
    const e2 = (await loadCheckpoint(m, p2).catch((x: unknown) => x)) as CheckpointKeyError;
    expect(e2.missing).toEqual(['model.norm.weight']);
    expect(e2.unexpected).toEqual(['model.layers.0.self_attn.rotary_emb.inv_freq']);
    expect(e2.message).toMatch(/1 model keys are missing.*model\.norm\.weight/);
    const lenient = await loadCheckpoint(m, p2, { strict: false });
    expect(lenient.missing).toEqual(['model.norm.weight']);
    await expect(loadCheckpoint(m, join(dir, 'nope'))).rejects.toThrow(CheckpointNotFoundError);
    m.dispose();
  });

  it('loads a sharded f16 / bf16 checkpoint from its folder into a float32 model', async () => {
    const g = await loadGoldens(fixture('llama_tiny.io.safetensors'));
    for (const dt of ['float16', 'bfloat16'] as const) {
      const sub = join(dir, `sharded-${dt}`);
      (await import('node:fs')).mkdirSync(sub, { recursive: true });
      const keys = Object.keys(llamaFile.tensors);
      const half = (k: string): RawTensor => {
        const src = llamaFile.tensors[k];
        return { dtype: dt, shape: src.shape, data: fromNumbers(dt, src.data) };
      };
      const shards = [keys.filter((_, i) => i % 2 === 0), keys.filter((_, i) => i % 2 === 1)]; // interleaved in key order
      const shardName = (i: number) => `model-0000${i + 1}-of-00002.safetensors`;
      shards.forEach((ks, i) => writeFileSync(join(sub, shardName(i)), serializeSafetensors(Object.fromEntries(ks.map((k) => [k, half(k)])))));
      const weightMap = Object.fromEntries(keys.map((k, i) => [k, shardName(i % 2)])); // index in key order, as HF writes it
      writeFileSync(join(sub, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
      const m = new LlamaForCausalLM(llamaConfig);
      // Record which shard each read hits: the loader goes shard by shard although the index interleaves them.
      const store = (await openModelCheckpoint(sub)) as TensorStore & { shardOf(k: string): string; shards(): string[] };
      const visited: string[] = [];
      const spy = Object.assign(Object.create(store) as typeof store, {
        read: (k: string) => {
          visited.push(store.shardOf(k));
          return store.read(k);
        },
      });
      const r = await loadCheckpoint(m, spy);
      await store.close();
      expect(r.loaded).toHaveLength(keys.length);
      expect(visited).toEqual([...visited].sort());
      expect(new Set(visited).size).toBe(2);
      const w = m.model.norm.weight;
      expect(w.dtype).toBe('float32');
      const back = fromNumbers(dt, llamaFile.tensors['model.norm.weight'].data);
      const widen = dt === 'float16' ? f16BitsToF32 : bf16BitsToF32;
      expect(Array.from(await w.data())).toEqual(Array.from(back, (b) => widen(b)));
      const out = noGrad(() => m.forward({ inputIds: g.get('input_ids') }));
      // Rounded weights: the logits stay close to the float32 reference.
      await assertClose(out.logits!, g.get('logits'), { rtol: 0, atol: dt === 'float16' ? 5e-3 : 5e-2 }, `logits from ${dt} weights`);
      out.logits!.dispose();
      out.last_hidden_state.dispose();
      m.dispose();
    }
    g.dispose();
  });

  it('builds and loads the mlp2x_gelu projector (mm_projector.0, GELU, mm_projector.2)', async () => {
    const proj = buildProjector('mlp2x_gelu', 4, 3);
    expect([...proj.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const vals = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s));
    const raw = (shape: number[], s: number): RawTensor => ({ dtype: 'float32', shape, data: vals(shape.reduce((a, b) => a * b, 1), s) });
    const p = write('proj.safetensors', {
      'model.mm_projector.0.weight': raw([3, 4], 1), 'model.mm_projector.0.bias': raw([3], 2), 'model.mm_projector.2.weight': raw([3, 3], 3), 'model.mm_projector.2.bias': raw([3], 4),
      'model.embed_tokens.weight': raw([2, 2], 5),
    });
    const r = await loadProjector(proj, p);
    expect(r.prefix).toBe('model.mm_projector.');
    const x = tensor([[1, -2, 0.5, 3]]);
    const y = Array.from(await noGrad(() => proj.forward(x)).data());
    // Reference by hand: W2 gelu(W1 x + b1) + b2, GELU exact (erf).
    const W1 = vals(12, 1), b1 = vals(3, 2), W2 = vals(9, 3), b2 = vals(3, 4);
    const erf = (z: number) => { const t = 1 / (1 + 0.3275911 * Math.abs(z)); const yv = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z); return z >= 0 ? yv : -yv; };
    const h = [0, 1, 2].map((i) => { const z = [1, -2, 0.5, 3].reduce((s, xv, j) => s + W1[i * 4 + j] * xv, b1[i]); return 0.5 * z * (1 + erf(z / Math.SQRT2)); });
    const ref = [0, 1, 2].map((i) => h.reduce((s, hv, j) => s + W2[i * 3 + j] * hv, b2[i]));
    for (let i = 0; i < 3; i++) expect(y[i]).toBeCloseTo(ref[i], 5);
    x.dispose();
    proj.dispose();
  });
});
