/** Release-layout checkpoints: several bf16 shards + index, the release's unused keys present, strict load, round trip. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@segllm/models';
import { manualSeed, fromStorageArray } from '@segllm/tensor';
import { CheckpointError, SegLLM, type LoadProgress, SegLLMForSegmentation, bundledTokenizerJson, defaultDecoder, loadSegLLM, saveSegLLM, tinySegLLMConfig, tinySegLLMConfigJson } from '@segllm/core';

const tokJson = await bundledTokenizerJson();
const tok = Tokenizer.fromString(tokJson);
const S = 128;
const configJson = tinySegLLMConfigJson({ imageSize: S });
const bert = (k: string) => ({ [`model.segmentator.hipie.text_encoder.body.model.${k}`]: { dtype: 'bfloat16' as const, shape: [2, 3], data: new Uint16Array(6).fill(0x3f80) } });

describe('SegLLM checkpoints in the release layout', () => {
  it('saves shards + index in bf16, loads strictly skipping exactly the unused keys, and round-trips', async () => {
    manualSeed(3);
    const cfg = tinySegLLMConfig();
    const a = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), tok);
    const dir = join(mkdtempSync(join(tmpdir(), 'segllm-ckpt-')), 'tiny');
    const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: new Float32Array(shape.reduce((x, y) => x * y, 1)) });
    const extra = {
      ...bert('embeddings.word_embeddings.weight'),
      ...bert('encoder.layer.0.output.dense.weight'),
      'model.segmentator.hipie.criterion._iter': f32([1]),
      'model.vision_tower.vision_tower.visual_projection.weight': f32([8, 32]),
      'model.segmentator.hipie.detr.detr.transformer.resizer.fc.weight': f32([32, 48]),
      // The decoder's alias of a detr head list, stored next to the detr name (as save_pretrained may do).
      'model.segmentator.hipie.detr.detr.transformer.decoder.class_embed.0.bias0': f32([1]),
    };
    await saveSegLLM(a, dir, { shards: 3, configJson, tokenizerJson: tokJson, extra });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string>; metadata: { total_size: number } };
    expect(Object.keys(index.weight_map)).toContain('model.vision_tower.vision_tower.vision_model.encoder.layers.1.mlp.fc2.weight');
    expect(Object.keys(index.weight_map)).toContain('model.mm_projector.2.bias');
    expect(Object.keys(index.weight_map)).toContain('model.segmentator_predictor.0.weight');
    // The DN label encoder is part of the decoder tree (loaded strictly), the transformer's x0 resizer is not.
    expect(Object.keys(index.weight_map)).toContain('model.segmentator.hipie.detr.resizer.layer_norm.bias');

    const progress: LoadProgress[] = [];
    const { model: b, report } = await loadSegLLM(dir, { device: 'cpu', progress: (p) => progress.push(p) });
    expect(report.skipped.sort()).toEqual(Object.keys(extra).sort());
    // Progress in bytes: one event per tensor read, then a last one for the whole checkpoint (skipped keys included).
    expect(progress).toHaveLength(report.loaded + 1);
    expect(progress.every((p, i) => p.phase === 'load' && p.total === index.metadata.total_size && (i === 0 || p.loaded > progress[i - 1].loaded))).toBe(true);
    expect(progress.at(-1)!.loaded).toBe(index.metadata.total_size);
    // Every parameter equals the bf16 rounding of the original.
    const sa = a.model.stateDict();
    const sb = b.model.stateDict();
    expect([...sb.keys()]).toEqual([...sa.keys()]);
    for (const [k, t] of sa) {
      const rounded = await t.to('bfloat16').data();
      expect(Array.from(await sb.get(k)!.data()), k).toEqual(Array.from(rounded));
    }
    // Saving the loaded model again gives the same tensors (a round trip).
    const dir2 = `${dir}-again`;
    await saveSegLLM(b, dir2, { shards: 3, configJson, tokenizerJson: tokJson });
    const { model: c } = await loadSegLLM(dir2);
    for (const [k, t] of c.model.stateDict()) expect(Array.from(await t.data()), k).toEqual(Array.from(await sb.get(k)!.data()));
  });

  it('loads the same checkpoint from a file map (browser file picker) and from a URL (fetch)', async () => {
    manualSeed(5);
    const cfg = tinySegLLMConfig();
    const a = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), tok);
    const dir = join(mkdtempSync(join(tmpdir(), 'segllm-ckpt-')), 'm');
    await saveSegLLM(a, dir, { shards: 2, configJson, tokenizerJson: tokJson });
    const files = Object.fromEntries(readdirSync(dir).map((f) => [`picked/${f}`, new Blob([readFileSync(join(dir, f))])]));
    const fromMap = await SegLLM.load(files);
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const name = (req.url ?? '/').split('/').pop() ?? '';
      try {
        const body = readFileSync(join(dir, name));
        res.writeHead(200).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const fromUrl = await SegLLM.load(`http://127.0.0.1:${port}/ckpt/`, { cache: false });
      const ref = (await SegLLM.load(dir)).model.stateDict();
      for (const m of [fromMap, fromUrl]) {
        for (const [k, t] of m.model.stateDict()) expect(Array.from(await t.data()), k).toEqual(Array.from(await ref.get(k)!.data()));
      }
    } finally {
      server.close();
    }
  });

  it('takes the CLIP tower from its own folder when the checkpoint does not carry it', async () => {
    manualSeed(6);
    const cfg = tinySegLLMConfig();
    const a = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), tok);
    const root = mkdtempSync(join(tmpdir(), 'segllm-tower-'));
    const full = join(root, 'full');
    await saveSegLLM(a, full, { shards: 1, configJson, tokenizerJson: tokJson });
    // Split the tower out: the checkpoint without model.vision_tower.*, the tower as HF's CLIPVisionModel layout.
    const { deserializeSafetensors, saveSafetensors } = await import('@segllm/tensor');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const all = deserializeSafetensors(readFileSync(join(full, 'model-00001-of-00001.safetensors'))).tensors;
    const tp = 'model.vision_tower.vision_tower.';
    const rest = Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith(tp)));
    const tower = Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(tp)).map(([k, v]) => [k.slice(tp.length), v]));
    const ckpt = join(root, 'ckpt');
    const towerDir = join(root, 'clip');
    mkdirSync(ckpt);
    mkdirSync(towerDir);
    await saveSafetensors(join(ckpt, 'model.safetensors'), rest);
    await saveSafetensors(join(towerDir, 'model.safetensors'), tower);
    const { vision_config, ...noVision } = configJson;
    writeFileSync(join(ckpt, 'config.json'), JSON.stringify(noVision));
    writeFileSync(join(ckpt, 'tokenizer.json'), tokJson);
    writeFileSync(join(towerDir, 'config.json'), JSON.stringify({ vision_config }));
    await expect(loadSegLLM(ckpt)).rejects.toThrow(/visionTower/);
    const { model: b } = await loadSegLLM(ckpt, { visionTower: towerDir });
    const ref = (await SegLLM.load(full)).model.stateDict();
    for (const [k, t] of b.model.stateDict()) expect(Array.from(await t.data()), k).toEqual(Array.from(await ref.get(k)!.data()));
  });

  it('reports missing and unexpected keys in one typed error', async () => {
    manualSeed(4);
    const cfg = tinySegLLMConfig();
    const a = new SegLLM(new SegLLMForSegmentation(cfg, defaultDecoder(cfg)), tok);
    const dir = join(mkdtempSync(join(tmpdir(), 'segllm-ckpt-')), 'bad');
    const stray = { 'model.layers.9.mlp.up_proj.weight': { dtype: 'float32' as const, shape: [1], data: new Float32Array(1) } };
    await saveSegLLM(a, dir, { shards: 2, configJson: { ...configJson, num_hidden_layers: 3 }, tokenizerJson: tokJson, extra: stray });
    const err = await loadSegLLM(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(String(err)).toMatch(/missing \(\d+\): model\.layers\.2\./);
    expect(String(err)).toMatch(/unexpected \(1\): model\.layers\.9\.mlp\.up_proj\.weight/);
    void fromStorageArray;
  });

  it('says what to do when the tokenizer or the CLIP tower is absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segllm-empty-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson));
    await expect(loadSegLLM(dir)).rejects.toThrow(/tokenizer\.json/);
  });
});
