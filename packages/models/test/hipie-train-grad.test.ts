/**
 * Gradients of the HIPIE training forward (src/hipie/train.ts) in a very small config (hidden 32, 6 + 2 queries, 64x64
 * images, N = 2 with 2 and 1 GT boxes): finite differences in float64 of the DN branch, the foreground branch, the
 * encoder outputs and maskLogits along directions in the phrase tokens and in parameters; upstream's detaching
 * between decoder layers; every backend.
 *
 * Finite differences see the whole derivative, also through the references that upstream detaches between decoder
 * layers (a stop-gradient by design). So the full check runs with one decoder layer (no detach; every part from the
 * backbone and the DN label encoder to the mask head), and with 3 layers only for parameters after the last detach;
 * the detaching itself is checked by which gradients are exactly zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, compareArrays, gradcheck } from '@segllm/tensor/testing';
import { Generator, cat, manualSeed, noGrad, openSafetensors, randn, tensor } from '@segllm/tensor';
import type { Tensor } from '@segllm/tensor';
import {
  HipieModel, disposeHipieOutputs, disposeImageFeatures, disposeTrainOutputs, levelPositions, loadHipie, maskLogits, parseHipieConfig, serializeHipie,
} from '../src/index.ts';
import type { HipieTrainOutputs } from '../src/index.ts';

const configOf = (decLayers: number) => parseHipieConfig({
  hidden_dim: 32, nheads: 2, enc_layers: 1, dec_layers: decLayers, dim_feedforward: 32, num_queries: 6, num_bg_queries: 2,
  vl_hidden_dim: 32, vl_heads: 2, lang_dim: 16, norm_groups: 8,
  backbone: { stem_out_channels: 8, depths: [1, 1, 1, 1], widths: [4, 8, 8, 8] },
});
const config = configOf(3);
const backends = await availableBackends();
const GT = [[0.3, 0.4, 0.2, 0.3, 0.6, 0.6, 0.4, 0.5], [0.5, 0.5, 0.3, 0.3]];

/** Walks a checkpoint key to its parent object and field. */
function slot(root: object, key: string): { get: () => Tensor; set: (t: Tensor) => void } {
  const parts = key.split('.');
  let o = root as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
  const last = parts.at(-1)!;
  return { get: () => o[last] as Tensor, set: (t) => (o[last] = t) };
}

/** Every training output that a loss reads, flattened into one vector. */
function flatOutputs(out: HipieTrainOutputs): Tensor {
  const parts: Tensor[] = [];
  for (const l of out.fg) parts.push(l.logits, l.boxes, l.iou!);
  for (const l of out.gt!) parts.push(l.logits, l.boxes);
  parts.push(out.enc.logits, out.enc.boxes);
  const L = out.fg.length - 1;
  parts.push(maskLogits(out, 'fg', L, 1, [4, 0]), maskLogits(out, 'fg', 0, 0, [1]), maskLogits(out, 'gt', 0, 0, [0, 1]), maskLogits(out, 'gt', L, 1, [0]));
  return cat(parts.map((p) => p.reshape([-1])), 0);
}

/** Central differences along one random direction per tensor (tokens, then each parameter key) of all outputs. */
function checkDirections(decLayers: number, keys: string[], seed: number, training = false): void {
  manualSeed(seed);
  const model = new HipieModel(configOf(decLayers), { dtype: 'float64' }).train(training);
  const images = randn([2, 3, 64, 64], { dtype: 'float64' });
  const tokens = randn([2, 8, 16], { dtype: 'float64' });
  const slots = keys.map((k) => slot(model, k));
  keys.forEach((k, i) => expect(slots[i].get(), k).toBe(model.stateDict().get(k)));
  const base = slots.map((s) => s.get());
  // With detaching layers the tokens reach the detached references, so they move only in the one-layer check.
  const dirs = [tokens, ...base].map((t, i) => (i === 0 && decLayers > 1 ? t.mul(0) : randn([...t.shape], { dtype: 'float64' })));
  const f = (alpha: Tensor) => {
    const a = (i: number) => alpha.narrow(0, i, 1);
    slots.forEach((s, i) => s.set(base[i].add(dirs[i + 1].mul(a(i + 1)))));
    try {
      const feats = model.encodeImage(images);
      const out = model.forwardTrain(feats, tokens.add(dirs[0].mul(a(0))), { boxes: GT, rng: new Generator(9) }, { dropoutRng: new Generator(7) });
      const y = flatOutputs(out);
      disposeTrainOutputs(out);
      disposeImageFeatures(feats);
      return y;
    } finally {
      slots.forEach((s, i) => s.set(base[i]));
    }
  };
  const alpha = tensor(new Float64Array(keys.length + 1), { shape: [keys.length + 1], dtype: 'float64' });
  const r = gradcheck(f, [alpha], { eps: 1e-6, rtol: 1e-5, atol: 1e-7 });
  expect(r.ok, r.message).toBe(true);
  for (const t of [...dirs, images, tokens, alpha]) t.dispose();
  model.dispose();
}

describe('HIPIE training forward gradients (float64, finite differences)', () => {
  it('one decoder layer: tokens, backbone, DN label encoder, encoder, two-stage, decoder, heads, mask head', () => {
    checkDirections(1, [
      'resizer.fc.weight', 'resizer.layer_norm.bias', 'detr.backbone.0.backbone.res4.0.conv2.weight', 'detr.transformer.encoder.vl_layers.0.b_attn.gamma_l',
      'detr.transformer.enc_output.weight', 'detr.bbox_embed.1.layers.2.bias', 'detr.transformer.decoder.layers.0.self_attn.in_proj_weight',
      'detr.bbox_embed.0.layers.2.weight', 'detr.class_embed.0.bias_lang', 'detr.iou_head.0.weight', 'controller.layers.2.weight', 'mask_head.lay2.weight',
    ], 4);
  });

  it('one decoder layer in training mode (the VL fusion attention dropout, same draws each call)', () => {
    checkDirections(1, ['detr.transformer.encoder.vl_layers.0.b_attn.attn.values_l_proj.weight', 'detr.transformer.encoder.vl_layers.0.b_attn.attn.values_v_proj.weight', 'resizer.fc.weight'], 13, true);
  });

  it('three decoder layers: the parameters after the last detached reference', () => {
    checkDirections(3, [
      'detr.transformer.decoder.layers.2.self_attn.in_proj_weight', 'detr.transformer.decoder.layers.2.linear2.weight', 'detr.bbox_embed.2.layers.0.weight',
      'detr.class_embed.2.dot_product_projection_text.weight', 'detr.iou_head.2.weight', 'controller.layers.0.weight', 'mask_head.lay1.weight',
    ], 8);
  });
});

describe('HIPIE training forward dropout', () => {
  it('drops VL attention probabilities in training mode only, reproducibly per generator, never in decode', async () => {
    manualSeed(13);
    const m = new HipieModel(config);
    const images = randn([1, 3, 64, 64]);
    const tokens = randn([1, 8, config.lang_dim]);
    const feats = noGrad(() => m.encodeImage(images));
    const logits = async (seed: number) => {
      const out = noGrad(() => m.forwardTrain(feats, tokens, null, { dropoutRng: new Generator(seed) }));
      const r = Array.from(await out.fg[2].logits.data());
      disposeTrainOutputs(out);
      return r;
    };
    const [a, b, c] = [await logits(1), await logits(1), await logits(2)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const decoded = async () => {
      const o = noGrad(() => m.decode(feats, tokens));
      const r = Array.from(await o.logits.narrow(1, config.num_bg_queries, config.num_queries).contiguous().data());
      disposeHipieOutputs(o);
      return r;
    };
    const inTraining = await decoded();
    m.eval();
    expect(inTraining).toEqual(await decoded());
    const e = await logits(1);
    expect(e).not.toEqual(a);
    expect(compareArrays(e, inTraining, { rtol: 1e-5, atol: 1e-5 }).ok).toBe(true);
    disposeImageFeatures(feats);
    for (const t of [images, tokens]) t.dispose();
    m.dispose();
  });
});

describe('HIPIE training forward detaching (as upstream)', () => {
  let model: HipieModel;
  let images: Tensor;
  let tokens: Tensor;
  beforeAll(() => {
    manualSeed(5);
    model = new HipieModel(config).eval();
    images = randn([2, 3, 64, 64]);
    tokens = randn([2, 8, config.lang_dim]);
  });
  afterAll(() => {
    model.dispose();
    images.dispose();
    tokens.dispose();
  });

  /** Max |grad| of each parameter prefix for a scalar of the outputs. */
  function gradNorms(pick: (o: HipieTrainOutputs) => Tensor, prefixes: string[]): number[] {
    model.zeroGrad();
    const feats = model.encodeImage(images);
    const out = model.forwardTrain(feats, tokens, { boxes: GT, rng: new Generator(1) });
    pick(out).sum().backward();
    const res = prefixes.map((p) =>
      Math.max(0, ...model.namedParameters().filter(([k]) => k.startsWith(p)).map(([, t]) => (t.grad ? Math.max(...Array.from(t.grad.dataSync(), Math.abs)) : 0))),
    );
    disposeTrainOutputs(out);
    disposeImageFeatures(feats);
    model.zeroGrad();
    return res;
  }

  it('feeds each layer the detached box of the previous one, but predicts from the undetached one (look forward twice)', () => {
    const [b0FromLogits1, b0FromBoxes1, b0FromBoxes2, b1FromBoxes2] = [
      gradNorms((o) => cat([o.fg[1].logits.reshape([-1]), o.fg[1].iou!.reshape([-1]), o.fg[1].maskParams.reshape([-1]), o.gt![1].logits.reshape([-1])], 0), ['detr.bbox_embed.0.'])[0],
      gradNorms((o) => o.fg[1].boxes, ['detr.bbox_embed.0.'])[0],
      gradNorms((o) => cat([o.fg[2].boxes.reshape([-1]), o.gt![2].boxes.reshape([-1])], 0), ['detr.bbox_embed.0.'])[0],
      gradNorms((o) => o.fg[2].boxes, ['detr.bbox_embed.1.'])[0],
    ];
    expect(b0FromLogits1).toBe(0); // hs[1] saw only the detached box of layer 0
    expect(b0FromBoxes1).toBeGreaterThan(0); // boxes[1] = sigmoid(bbox_embed[1](hs[1]) + logit(undetached box of layer 0))
    expect(b0FromBoxes2).toBe(0);
    expect(b1FromBoxes2).toBeGreaterThan(0);
  });

  it('keeps the two-stage reference attached (upstream does not detach it) and reaches the backbone and the DN encoder', () => {
    const [enc, backbone, encBoxHead] = gradNorms((o) => o.fg[0].boxes, ['detr.transformer.enc_output.', 'detr.backbone.0.backbone.res5.', 'detr.bbox_embed.3.']);
    expect(enc).toBeGreaterThan(0);
    expect(backbone).toBeGreaterThan(0);
    expect(encBoxHead).toBeGreaterThan(0); // the encoder's box head, through the selected references
    const [resizer, matching] = gradNorms((o) => o.gt![0].logits, ['resizer.', 'detr.transformer.tgt_embed.']);
    expect(resizer).toBeGreaterThan(0);
    expect(matching).toBeGreaterThan(0); // DN queries attend to the matching queries
    const [fromFg] = gradNorms((o) => cat(o.fg.map((l) => l.logits.reshape([-1])), 0), ['resizer.']);
    expect(fromFg).toBe(0); // matching queries may not attend to DN queries
  });
});

describe.each(backends)('HIPIE training forward on %s', (backend) => {
  it('agrees with the CPU on outputs and gradients (decoder only, features given)', async () => {
    manualSeed(6);
    const cfg = parseHipieConfig({ ...configOf(2), with_image_encoder: false });
    const cpu = new HipieModel(cfg).eval();
    const srcs = [[8, 8], [4, 4], [2, 2], [1, 1]].map(([h, w]) => randn([2, 32, h, w]));
    const tokens = randn([2, 8, cfg.lang_dim]);
    const run = (m: HipieModel, levels: Tensor[], tok: Tensor) => {
      for (const t of [...levels, tok]) t.requiresGrad = true;
      const out = m.forwardTrain({ srcs: levels, pos: levelPositions(levels, 32), imageSize: [64, 64] }, tok, { boxes: GT, rng: new Generator(2) });
      const y = flatOutputs(out);
      y.mul(y).sum().backward();
      const grads = [...['resizer.fc.weight', 'detr.bbox_embed.0.layers.2.weight', 'controller.layers.2.weight', 'detr.transformer.enc_output.weight'].map((k) => m.stateDict().get(k)!.grad!), levels[0].grad!, tok.grad!];
      disposeTrainOutputs(out);
      return { y, grads };
    };
    const ref = run(cpu, srcs, tokens);
    const dev = new HipieModel(cfg, { backend }).eval();
    await loadHipie(dev, await openSafetensors(await serializeHipie(cpu)));
    const move = (t: Tensor) => tensor(t.dataSync(), { shape: [...t.shape], backend });
    const got = run(dev, srcs.map(move), move(tokens));
    const tol = { rtol: 1e-3, atol: 1e-3 };
    const ry = compareArrays(await got.y.data(), await ref.y.data(), tol);
    expect(ry.ok, JSON.stringify(ry)).toBe(true);
    for (let i = 0; i < ref.grads.length; i++) {
      const r = compareArrays(await got.grads[i].data(), await ref.grads[i].data(), tol);
      expect(r.ok, `grad ${i}: ${JSON.stringify(r)}`).toBe(true);
    }
    cpu.dispose();
    dev.dispose();
  });
});
