/**
 * Parity of the HIPIE decoder with the official HIPIE modules (hipie_tiny goldens: make_hipie_goldens.py), on every
 * backend, and the checkpoint loader's key handling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, compareArrays, loadGoldens } from '@segllm/tensor/testing';
import type { Goldens } from '@segllm/tensor/testing';
import { deserializeSafetensors, openSafetensors, serializeSafetensors } from '@segllm/tensor';
import type { RawTensor, Tensor } from '@segllm/tensor';
import { CheckpointKeyError, HipieModel, disposeHipieOutputs, loadHipie, readHipieConfig } from '../src/index.ts';
import type { HipieConfig, HipieOutputs } from '../src/index.ts';
import { hipieConfigOf, hipieDecodeGolden, hipieImageSize } from '../scripts/golden-hipie.ts';
import { DECODER_TOL, TINY_IO, TINY_WEIGHTS } from './hipie-fixtures.ts';
import { readFileSync } from 'node:fs';

let config: HipieConfig;
beforeAll(async () => {
  config = await hipieConfigOf(TINY_WEIGHTS);
});

describe('HIPIE golden config and keys', () => {
  it('reads the tiny config from the weights metadata', async () => {
    expect(config).toMatchObject({ hidden_dim: 64, nheads: 8, enc_layers: 2, dec_layers: 2, dim_feedforward: 128, num_queries: 20, num_bg_queries: 4, vl_hidden_dim: 128, lang_dim: 768, mask_in_channels: 2, query_sine_feats_per_coord: 32, with_image_encoder: false });
    expect((await readHipieConfig(TINY_WEIGHTS))?.hidden_dim).toBe(64);
  });

  it('loads strictly, skipping the resizer and the decoder aliases on purpose', async () => {
    const m = new HipieModel(config);
    const r = await loadHipie(m, TINY_WEIGHTS);
    expect(r.missing).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(r.loaded).toHaveLength(m.stateDict().size);
    expect(r.skippedOnPurpose.resizer.sort()).toEqual(['detr.transformer.resizer.fc.bias', 'detr.transformer.resizer.fc.weight', 'detr.transformer.resizer.layer_norm.bias', 'detr.transformer.resizer.layer_norm.weight']);
    // 3 box MLPs x 6 tensors + 2 VL_Align x 5 + Still_Classifier x 2 under detr.transformer.decoder.*
    expect(r.skippedOnPurpose.alias).toHaveLength(3 * 6 + 2 * 5 + 2);
    expect(r.skippedOnPurpose.alias.every((k) => k.startsWith('detr.transformer.decoder.'))).toBe(true);
    m.dispose();
  });

  it('loads a SegLLM-prefixed checkpoint that keeps the heads only under the decoder alias, reporting BERT keys', async () => {
    const src = deserializeSafetensors(readFileSync(TINY_WEIGHTS)).tensors;
    const out: Record<string, RawTensor> = {};
    for (const [k, v] of Object.entries(src)) {
      if (/^detr\.(class_embed|bbox_embed)\./.test(k)) continue; // only the alias remains (a deduplicated save)
      out[`model.segmentator.hipie.detr.${k}`] = v;
    }
    const small: RawTensor = { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) };
    out['model.segmentator.hipie.text_encoder.body.model.embeddings.word_embeddings.weight'] = small;
    out['model.segmentator.hipie.criterion._iter'] = small;
    out['model.layers.0.self_attn.q_proj.weight'] = small;
    const store = await openSafetensors(serializeSafetensors(out));
    const m = new HipieModel(config);
    const r = await loadHipie(m, store);
    expect(r.prefix).toBe('model.segmentator.hipie.detr.');
    expect(r.missing).toEqual([]);
    expect(r.skippedOnPurpose.bert).toEqual(['model.segmentator.hipie.text_encoder.body.model.embeddings.word_embeddings.weight']);
    expect(r.skippedOnPurpose.otherSegmentator).toEqual(['model.segmentator.hipie.criterion._iter']);
    expect(r.skippedOnPurpose.alias).toEqual([]);
    expect(r.skipped).toContain('model.layers.0.self_attn.q_proj.weight');
    const ref = new HipieModel(config);
    await loadHipie(ref, TINY_WEIGHTS);
    const a = await m.stateDict().get('detr.class_embed.1.bias_lang')!.data();
    expect(Array.from(a)).toEqual(Array.from(await ref.stateDict().get('detr.class_embed.1.bias_lang')!.data()));
    await store.close();
    m.dispose();
    ref.dispose();
  });

  it('rejects a checkpoint with a missing key (strict) and accepts it non-strict', async () => {
    const src = deserializeSafetensors(readFileSync(TINY_WEIGHTS)).tensors;
    delete src['mask_head.lay1.weight'];
    const m = new HipieModel(config);
    await expect(loadHipie(m, await openSafetensors(serializeSafetensors(src)))).rejects.toThrow(CheckpointKeyError);
    const r = await loadHipie(m, await openSafetensors(serializeSafetensors(src)), { strict: false });
    expect(r.missing).toEqual(['mask_head.lay1.weight']);
    m.dispose();
  });
});

describe.each(await availableBackends())('HIPIE decoder parity on %s (hipie_tiny)', (backend) => {
  let g: Goldens;
  let model: HipieModel;
  let out: HipieOutputs;
  let pairs: [string, Tensor][];
  beforeAll(async () => {
    g = await loadGoldens(TINY_IO, backend);
    model = new HipieModel(config, { backend });
    await loadHipie(model, TINY_WEIGHTS);
    ({ out, pairs } = hipieDecodeGolden(model, g, await hipieImageSize(TINY_IO, g)));
  });
  afterAll(() => {
    disposeHipieOutputs(out);
    g.dispose();
    model.dispose();
  });

  it('compares every intermediate the io file holds', () => {
    expect(pairs.map(([k]) => k)).toEqual([
      'out.memory', 'out.lang_fused', 'out.enc_outputs_class', 'out.enc_outputs_coord_unact', 'out.init_reference', 'out.inter_references', 'out.hs',
      'out.pred_logits', 'out.pred_boxes', 'out.pred_iou', 'out.mask_params', 'out.mask_ref_points_px', 'out.mask_feats', 'out.pred_masks',
    ]);
  });

  it('selects the same top-k queries as the reference', async () => {
    // the reference's selected boxes are sigmoid(enc_outputs_coord_unact[topk(enc_outputs_class)]): recover its indices
    const cls = Array.from(await g.get('out.enc_outputs_class').data());
    const want = cls.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, config.num_queries).map(([, i]) => i);
    expect(Array.from(await out.selected.data())).toEqual(want);
  });

  it.each([
    'out.memory', 'out.lang_fused', 'out.enc_outputs_class', 'out.enc_outputs_coord_unact', 'out.init_reference', 'out.inter_references', 'out.hs',
    'out.pred_logits', 'out.pred_boxes', 'out.pred_iou', 'out.mask_params', 'out.mask_ref_points_px', 'out.mask_feats', 'out.pred_masks',
  ])('%s matches at 1e-4', async (name) => {
    const t = pairs.find(([k]) => k === name)![1];
    const e = g.get(name);
    expect(t.shape).toEqual(e.shape);
    const r = compareArrays(await t.data(), await e.data(), DECODER_TOL);
    expect(r.bad, `${name}: worst ${JSON.stringify(r.worst)} maxAbs ${r.maxAbsErr}`).toBe(0);
  });

  it('gives the same results with the encoder tokens processed in chunks (token_chunk 100 of 340)', async () => {
    const chunked = new HipieModel({ ...config, token_chunk: 100 }, { backend });
    await loadHipie(chunked, TINY_WEIGHTS);
    const res = hipieDecodeGolden(chunked, g, await hipieImageSize(TINY_IO, g));
    for (const name of ['out.memory', 'out.lang_fused', 'out.pred_logits', 'out.pred_masks']) {
      const r = compareArrays(await res.pairs.find(([k]) => k === name)![1].data(), await g.get(name).data(), DECODER_TOL);
      expect(r.bad, name).toBe(0);
    }
    expect(Array.from(await res.out.selected.data())).toEqual(Array.from(await out.selected.data()));
    disposeHipieOutputs(res.out);
    chunked.dispose();
  });

  it('runs in float16 within 0.1 of the float32 reference up to the two-stage selection', async () => {
    // After the top-k, float16 may pick another of two near-tied tokens, so only the stages before it are compared.
    const half = new HipieModel(config, { backend, dtype: 'float16' });
    await loadHipie(half, TINY_WEIGHTS);
    const g16 = { get: (k: string) => g.get(k).to('float16'), has: (k: string) => g.has(k) } as unknown as Goldens;
    const res = hipieDecodeGolden(half, g16, await hipieImageSize(TINY_IO, g));
    for (const [name, t] of res.pairs) {
      expect(t.dtype, name).toBe('float16');
      if (!['out.memory', 'out.lang_fused', 'out.enc_outputs_class', 'out.enc_outputs_coord_unact'].includes(name)) continue;
      const r = compareArrays(await t.to('float32').data(), await g.get(name).data(), { rtol: 0.05, atol: 0.1 });
      expect(r.bad, `${name}: worst ${JSON.stringify(r.worst)}`).toBe(0);
    }
    disposeHipieOutputs(res.out);
    half.dispose();
  });
});
