/**
 * The HIPIE model end to end in the tiny random configuration (hidden 32, 2 heads, 2 + 2 layers, 20 queries,
 * 128x128 input, tiny detectron2 ResNet): module tree and key names, shapes of encodeImage / decode, exact save ->
 * load round trip, deterministic decoding, several decodes against one encoded image, CPU vs WebGPU agreement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, compareArrays } from '@segllm/tensor/testing';
import { manualSeed, noGrad, openSafetensors, randn, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import {
  HipieInputError, HipieModel, disposeHipieOutputs, disposeImageFeatures, loadHipie, postprocess, readHipieConfig, serializeHipie,
} from '../src/index.ts';
import type { HipieOutputs, ImageFeatures } from '../src/index.ts';
import { tinyRandomConfig } from './hipie-fixtures.ts';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const config = tinyRandomConfig();
const backends = await availableBackends();

function inputs(backend: string): { image: Tensor; tokens: Tensor; tokens2: Tensor } {
  manualSeed(21);
  const image = randn([1, 3, 128, 128]);
  const tokens = randn([8, config.lang_dim]);
  const tokens2 = randn([8, config.lang_dim]);
  const move = (t: Tensor) => tensor(t.dataSync(), { shape: [...t.shape], backend });
  const r = { image: move(image), tokens: move(tokens), tokens2: move(tokens2) };
  for (const t of [image, tokens, tokens2]) t.dispose();
  return r;
}

function run(m: HipieModel, image: Tensor, tokens: Tensor): { f: ImageFeatures; out: HipieOutputs } {
  return noGrad(() => {
    const f = m.encodeImage(image);
    return { f, out: m.decode(f, tokens) };
  });
}

let bytes: Uint8Array;
let cpuOut: HipieOutputs;
let cpuFeat: ImageFeatures;
let cpuModel: HipieModel;

beforeAll(async () => {
  manualSeed(7);
  cpuModel = new HipieModel(config).eval();
  bytes = await serializeHipie(cpuModel);
  const { image, tokens } = inputs('cpu');
  ({ f: cpuFeat, out: cpuOut } = run(cpuModel, image, tokens));
  image.dispose();
  tokens.dispose();
});
afterAll(() => {
  disposeHipieOutputs(cpuOut);
  disposeImageFeatures(cpuFeat);
  cpuModel.dispose();
});

describe('HIPIE model (tiny random config)', () => {
  it('names its tree like the checkpoint', () => {
    const keys = [...cpuModel.stateDict().keys()];
    for (const k of [
      'detr.backbone.0.backbone.stem.conv1.weight', 'detr.backbone.0.backbone.res5.0.shortcut.norm.running_var', 'detr.input_proj.3.0.weight',
      'detr.input_proj.0.1.bias', 'detr.transformer.level_embed', 'detr.transformer.tgt_embed.weight', 'detr.transformer.tgt_embed_bg.weight',
      'detr.transformer.bg_query_refs.weight', 'detr.transformer.enc_output_norm.weight', 'detr.transformer.encoder.vl_layers.0.b_attn.gamma_l',
      'detr.transformer.encoder.vl_layers.0.b_attn.attn.values_l_proj.weight', 'detr.transformer.encoder.layers.1.self_attn.sampling_offsets.weight',
      'detr.transformer.decoder.layers.1.self_attn.in_proj_weight', 'detr.transformer.decoder.layers.0.self_attn.out_proj.bias',
      'detr.transformer.decoder.ref_point_head.layers.1.weight', 'detr.class_embed.1.dot_product_projection_text.weight', 'detr.class_embed.1.log_scale',
      'detr.class_embed.2.body.weight', 'detr.bbox_embed.2.layers.2.bias', 'detr.iou_head.1.weight', 'controller.layers.2.weight', 'mask_head.jia_dcn.weight',
    ]) expect(keys).toContain(k);
    expect(keys.some((k) => k.startsWith('detr.transformer.decoder.bbox_embed'))).toBe(false);
    expect(cpuModel.controller.layers[2].weight.shape).toEqual([(config.mask_in_channels + 2) * 8 + 64 + 8 + 17, 32]);
  });

  it('encodes to 4 levels at strides 8-64 and decodes every output with its shape', () => {
    expect(cpuFeat.srcs.map((s) => s.shape)).toEqual([[1, 32, 16, 16], [1, 32, 8, 8], [1, 32, 4, 4], [1, 32, 2, 2]]);
    expect(cpuFeat.pos.map((s) => s.shape)).toEqual(cpuFeat.srcs.map((s) => s.shape));
    const Q = config.num_queries + config.num_bg_queries;
    expect(cpuOut.memory.shape).toEqual([1, 340, 32]);
    expect(cpuOut.langFused.shape).toEqual([1, 8, config.lang_dim]);
    expect(cpuOut.encClass.shape).toEqual([1, 340, 1]);
    expect(cpuOut.hs.map((h) => h.shape)).toEqual([[1, Q, 32], [1, Q, 32]]);
    expect(cpuOut.logits.shape).toEqual([1, Q, 8]);
    expect(cpuOut.boxes.shape).toEqual([1, Q, 4]);
    expect(cpuOut.maskParams.shape).toEqual([1, Q, 24 + 64 + 8 + 17]); // (1 + 2) x 8, 8 x 8, 8 weights; 8, 8, 1 biases
    expect(cpuOut.maskFeats.shape).toEqual([1, 1, 16, 16]);
    expect(cpuOut.masks.shape).toEqual([1, Q, 1, 32, 32]);
  });

  it('keeps the background queries on their raw learned boxes', async () => {
    const init = await cpuOut.initReference.data();
    const bg = await cpuModel.detr.transformer.bg_query_refs!.weight.data();
    expect(Array.from(init.slice(0, bg.length))).toEqual(Array.from(bg));
  });

  it('decodes deterministically, and several token sets against one encoded image', async () => {
    const { tokens, tokens2, image } = inputs('cpu');
    const again = noGrad(() => cpuModel.decode(cpuFeat, tokens));
    expect(Array.from(await again.masks.data())).toEqual(Array.from(await cpuOut.masks.data()));
    expect(Array.from(await again.logits.data())).toEqual(Array.from(await cpuOut.logits.data()));
    const other = noGrad(() => cpuModel.decode(cpuFeat, tokens2));
    expect(Array.from(await other.logits.data())).not.toEqual(Array.from(await cpuOut.logits.data()));
    const seg = await postprocess(other, config);
    expect(seg.maskSize).toEqual([128, 128]);
    expect(seg.mask).toHaveLength(128 * 128);
    for (const t of [tokens, tokens2, image]) t.dispose();
    disposeHipieOutputs(again);
    disposeHipieOutputs(other);
  });

  it('round-trips save -> load exactly (same weights, same outputs)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hipie-'));
    const path = join(dir, 'w.safetensors');
    writeFileSync(path, bytes);
    try {
      const cfg = await readHipieConfig(path);
      expect(cfg).toEqual(config);
      const m = new HipieModel(cfg!);
      const r = await loadHipie(m, await openSafetensors(bytes));
      expect(r.missing).toEqual([]);
      expect(r.loaded).toHaveLength(cpuModel.stateDict().size);
      for (const [k, t] of cpuModel.stateDict()) expect(Array.from(await m.stateDict().get(k)!.data()), k).toEqual(Array.from(await t.data()));
      const { image, tokens } = inputs('cpu');
      const { f, out } = run(m, image, tokens);
      expect(Array.from(await out.masks.data())).toEqual(Array.from(await cpuOut.masks.data()));
      disposeHipieOutputs(out);
      disposeImageFeatures(f);
      image.dispose();
      tokens.dispose();
      m.dispose();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('runs a float16 model on float32 inputs (inputs are cast to the weights dtype)', async () => {
    const m = new HipieModel(config, { dtype: 'float16' });
    await loadHipie(m, await openSafetensors(bytes));
    const { image, tokens } = inputs('cpu');
    const { f, out } = run(m, image, tokens);
    expect(f.srcs[0].dtype).toBe('float16');
    expect(out.masks.dtype).toBe('float16');
    expect(Array.from(await out.logits.data()).every(Number.isFinite)).toBe(true);
    const r = compareArrays(await out.boxes.data(), await cpuOut.boxes.data(), { rtol: 0.05, atol: 0.05 });
    expect(r.bad).toBe(0);
    const seg = await postprocess(out, config);
    expect(seg.mask).toHaveLength(128 * 128);
    disposeHipieOutputs(out);
    disposeImageFeatures(f);
    image.dispose();
    tokens.dispose();
    m.dispose();
  });

  it('rejects bad inputs with typed errors', () => {
    const img = randn([1, 3, 100, 128]);
    expect(() => cpuModel.encodeImage(img)).toThrow(HipieInputError);
    const tok = randn([8, config.lang_dim + 1]);
    expect(() => cpuModel.decode(cpuFeat, tok)).toThrow(HipieInputError);
    img.dispose();
    tok.dispose();
  });
});

describe.each(backends.filter((b) => b !== 'cpu'))('HIPIE model on %s agrees with the CPU', (backend) => {
  it('encodes and decodes to the same tensors', async () => {
    const m = new HipieModel(config, { backend });
    await loadHipie(m, await openSafetensors(bytes));
    const { image, tokens } = inputs(backend);
    const { f, out } = run(m, image, tokens);
    const pairs: [string, Tensor, Tensor][] = [
      ['srcs.0', f.srcs[0], cpuFeat.srcs[0]], ['memory', out.memory, cpuOut.memory], ['boxes', out.boxes, cpuOut.boxes],
      ['logits', out.logits, cpuOut.logits], ['masks', out.masks, cpuOut.masks],
    ];
    for (const [name, a, b] of pairs) {
      const r = compareArrays(await a.data(), await b.data(), { rtol: 1e-3, atol: 1e-3 });
      expect(r.bad, `${name}: ${JSON.stringify(r.worst)}`).toBe(0);
    }
    expect(Array.from(await out.selected.data())).toEqual(Array.from(await cpuOut.selected.data()));
    disposeHipieOutputs(out);
    disposeImageFeatures(f);
    image.dispose();
    tokens.dispose();
    m.dispose();
  });
});
