import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import type { Goldens } from '@segllm/tensor/testing';
import { openSafetensors } from '@segllm/tensor';
import {
  D2ResNet, RESNET50, ResNetConfigError, TorchvisionResNet, buildResNet50D2, detectron2ToTorchvisionKey, inferResNetConfig,
  loadResNet, torchvisionToDetectron2Key,
} from '../src/index.ts';
import type { ResNetConfig } from '../src/index.ts';
import { OUT_TOL, expectClose, fixture, goldens } from './model-fixtures.ts';

const weights = fixture('resnet_tiny.weights.safetensors');
let shapes: Map<string, number[]>;
let inferred: { layout: string; config: ResNetConfig };

beforeAll(async () => {
  const f = await openSafetensors(weights);
  shapes = new Map(f.keys().map((k) => [k, (f.info(k) as { shape: number[] }).shape]));
  await f.close();
  inferred = inferResNetConfig(shapes);
});

describe('ResNet configuration and key mapping', () => {
  it('infers the tiny golden config from the checkpoint shapes', () => {
    expect(inferred.layout).toBe('torchvision');
    expect(inferred.config).toMatchObject({ stem_out_channels: 16, depths: [1, 2, 1, 1], widths: [16, 32, 64, 128], expansion: 4, num_classes: 10 });
  });

  it('maps torchvision keys to detectron2 keys and back', () => {
    const table: [string, string][] = [
      ['conv1.weight', 'stem.conv1.weight'],
      ['bn1.running_var', 'stem.conv1.norm.running_var'],
      ['layer1.0.conv2.weight', 'res2.0.conv2.weight'],
      ['layer2.1.bn3.bias', 'res3.1.conv3.norm.bias'],
      ['layer4.0.downsample.0.weight', 'res5.0.shortcut.weight'],
      ['layer4.0.downsample.1.running_mean', 'res5.0.shortcut.norm.running_mean'],
    ];
    for (const [tv, d2] of table) {
      expect(torchvisionToDetectron2Key(tv)).toBe(d2);
      expect(detectron2ToTorchvisionKey(d2)).toBe(tv);
    }
    expect(torchvisionToDetectron2Key('fc.weight')).toBeNull();
    for (const k of shapes.keys()) if (!k.startsWith('fc.')) expect(detectron2ToTorchvisionKey(torchvisionToDetectron2Key(k)!)).toBe(k);
  });

  it('names the ResNet-50 detectron2 tree like HIPIE checkpoints', () => {
    const m = buildResNet50D2();
    const keys = [...m.stateDict().keys()];
    expect(keys).toHaveLength(53 * 5); // 53 convs, each a weight and 4 FrozenBN buffers
    expect(keys).toContain('stem.conv1.norm.running_mean');
    expect(keys).toContain('res2.0.shortcut.norm.weight');
    expect(keys).toContain('res5.2.conv3.weight');
    // segllm-reference.md 9.1: R50 convs 23,454,912 parameters, FrozenBN buffers 4 x 26,560.
    expect(m.numParameters()).toBe(23_454_912);
    expect(m.namedBuffers().reduce((n, [, t]) => n + t.numel, 0)).toBe(4 * 26_560);
    m.dispose();
  });

  it('rejects a checkpoint without a stem', () => {
    expect(() => inferResNetConfig(new Map([['foo.weight', [1]]]))).toThrow(ResNetConfigError);
  });
});

describe.each(await availableBackends())('ResNet on %s (resnet_tiny goldens)', (backend) => {
  let g: Goldens;
  let tv: TorchvisionResNet;
  let d2: D2ResNet;
  beforeAll(async () => {
    g = await goldens('resnet_tiny', backend);
    tv = new TorchvisionResNet(inferred.config, { backend });
    await loadResNet(tv, weights);
    d2 = new D2ResNet({ ...inferred.config, num_classes: 0 }, { backend });
    const report = await loadResNet(d2, weights, { rename: torchvisionToDetectron2Key });
    expect(report.skipped).toEqual(['fc.bias', 'fc.weight']);
  });
  afterAll(() => {
    g.dispose();
    tv.dispose();
    d2.dispose();
  });

  for (const layout of ['torchvision', 'detectron2'] as const) {
    it(`computes the stem and every stage (${layout} layout)`, async () => {
        const model = layout === 'torchvision' ? tv : d2;
        const out = model.forward(g.get('input'), ['stem', 'res2', 'res3', 'res4', 'res5']);
        for (const name of ['stem', 'res2', 'res3', 'res4', 'res5'] as const) {
          await expectClose(out[name]!, g.get(name), OUT_TOL, `${layout} ${name}`);
          out[name]!.dispose();
        }
      });
  }

  it('computes the classifier logits (torchvision layout)', async () => {
      const logits = tv.classify(g.get('input'));
      await expectClose(logits, g.get('logits'), OUT_TOL, 'logits');
      logits.dispose();
    });

  it('round-trips the state dict through the detectron2 names', async () => {
      const back = new TorchvisionResNet(inferred.config, { backend });
      const sd = new Map([...d2.stateDict()].map(([k, t]) => [detectron2ToTorchvisionKey(k), t]));
      for (const k of ['fc.weight', 'fc.bias']) sd.set(k, tv.stateDict().get(k)!);
      back.loadStateDict(sd);
      const out = back.forward(g.get('input'), ['res5']);
      await expectClose(out.res5!, g.get('res5'), OUT_TOL, 'res5 after the round trip');
      out.res5!.dispose();
      back.dispose();
    });
});

describe('ResNet-50 defaults', () => {
  it('match torchvision resnet50', () => {
    expect(RESNET50).toMatchObject({ depths: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem_out_channels: 64, stride_in_1x1: false });
  });
});
