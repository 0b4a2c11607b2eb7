import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromNumbers } from '../dtype.ts';
import type { RawTensor } from '../io/index.ts';
import { openSafetensors, saveSafetensors, serializeSafetensors } from '../io/index.ts';
import '../ops/index.ts';
import { BatchNorm2d, CheckpointDTypeError, FrozenBatchNorm2d, GELU, Linear, Module, Sequential, StateDictError, loadSafetensorsInto } from './index.ts';

const raw = (dtype: RawTensor['dtype'], shape: number[], vals: number[]): RawTensor => ({ dtype, shape, data: fromNumbers(dtype, vals) });

class Tower extends Module {
  proj = new Sequential(new Linear(2, 3), new GELU(), new Linear(3, 1));
  bn = new FrozenBatchNorm2d(2);
}

const checkpoint = () => ({
  'model.tower.proj.0.weight': raw('bfloat16', [3, 2], [1, 2, 3, 4, 5, 6]),
  'model.tower.proj.0.bias': raw('bfloat16', [3], [0.5, -0.5, 0.25]),
  'model.tower.proj.2.weight': raw('float16', [1, 3], [1, -1, 2]),
  'model.tower.proj.2.bias': raw('float32', [1], [7]),
  'model.tower.bn.weight': raw('float32', [2], [1, 2]),
  'model.tower.bn.bias': raw('float32', [2], [0, 1]),
  'model.tower.bn.running_mean': raw('float32', [2], [0.5, 0.5]),
  'model.tower.bn.running_var': raw('float32', [2], [1, 4]),
  'model.tower.bn.num_batches_tracked': raw('int32', [], [100]),
  'model.lm_head.weight': raw('float32', [2, 2], [9, 9, 9, 9]),
});

describe('loadSafetensorsInto', () => {
  it('refuses integer or bool tensors for float parameters before loading anything (issue 17, point 10)', async () => {
    for (const dtype of ['int32', 'uint8', 'bool'] as const) {
      const ck = { ...checkpoint(), 'model.tower.proj.0.weight': raw(dtype, [3, 2], [1, 0, 1, 0, 1, 1]) };
      const m = new Tower();
      const before = Array.from(await (m.proj.at(2) as Linear).weight.data());
      const err = await loadSafetensorsInto(m, await openSafetensors(serializeSafetensors(ck)), { prefix: 'model.tower.' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointDTypeError);
      expect((err as Error).message).toMatch(new RegExp(`model\\.tower\\.proj\\.0\\.weight \\(stored (I32|U8|BOOL), the module holds float32\\)`));
      expect(Array.from(await (m.proj.at(2) as Linear).weight.data())).toEqual(before); // nothing was copied
    }
  });

  it('strips the prefix, casts bf16/f16 into float32, ignores num_batches_tracked and reports skipped keys', async () => {
    const store = await openSafetensors(serializeSafetensors(checkpoint()));
    const m = new Tower();
    const w = m.proj.at(0) as Linear;
    const weight = w.weight;
    const rep = await loadSafetensorsInto(m, store, { prefix: 'model.tower.' });
    expect(rep.missing).toEqual([]);
    expect(rep.unexpected).toEqual([]);
    expect(rep.skipped.sort()).toEqual(['model.lm_head.weight', 'model.tower.bn.num_batches_tracked']);
    expect(rep.loaded).toHaveLength(8);
    expect(w.weight).toBe(weight);
    expect(w.weight.dtype).toBe('float32');
    expect(Array.from(await w.weight.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await (m.proj.at(2) as Linear).weight.data())).toEqual([1, -1, 2]);
    expect(Array.from(await m.bn.running_var.data())).toEqual([1, 4]);
    await store.close();
    m.dispose();
  });

  it('opens a file path and lists every bad key in one StateDictError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segllm-nn-'));
    try {
      const ck = checkpoint();
      delete (ck as Record<string, RawTensor>)['model.tower.proj.2.bias'];
      ck['model.tower.proj.0.bias'] = raw('float32', [4], [1, 2, 3, 4]);
      (ck as Record<string, RawTensor>)['model.tower.extra'] = raw('float32', [1], [1]);
      const file = join(dir, 'm.safetensors');
      await saveSafetensors(file, ck);
      const m = new Tower();
      const err = await loadSafetensorsInto(m, file, { prefix: ['model.tower.'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StateDictError);
      const e = err as StateDictError;
      expect(e.missing).toEqual(['proj.2.bias']);
      expect(e.unexpected).toEqual(['model.tower.extra']);
      expect(e.mismatched).toEqual([{ key: 'model.tower.proj.0.bias', expected: [3], got: [4] }]);
      // A rename maps checkpoint names onto module names (here: dropping the extra key).
      ck['model.tower.proj.0.bias'] = raw('float32', [3], [1, 2, 3]);
      await saveSafetensors(file, ck);
      const rep = await loadSafetensorsInto(m, file, { prefix: 'model.tower.', rename: (k) => (k === 'extra' ? null : k), strict: false });
      expect(rep.missing).toEqual(['proj.2.bias']);
      expect(rep.skipped).toContain('model.tower.extra');
      m.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BatchNorm2d state loads into FrozenBatchNorm2d through a checkpoint', async () => {
    const bn = new BatchNorm2d(2);
    const sd: Record<string, RawTensor> = {};
    for (const [k, t] of bn.stateDict()) sd[k] = { dtype: t.dtype, shape: [...t.shape], data: fromNumbers(t.dtype, Array.from(t.dataSync())) };
    const f = new FrozenBatchNorm2d(2);
    const rep = await loadSafetensorsInto(f, await openSafetensors(serializeSafetensors(sd)));
    expect(rep.skipped).toEqual(['num_batches_tracked']);
    bn.dispose();
    f.dispose();
  });
});
