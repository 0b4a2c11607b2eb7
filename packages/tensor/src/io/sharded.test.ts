import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveSafetensors, serializeSafetensors, type RawTensor } from './safetensors.ts';
import { openCheckpoint, openShardedSafetensors, parseShardIndex, ShardedSafetensors } from './sharded.ts';

const t = (values: number[]): RawTensor => ({ dtype: 'float32', shape: [values.length], data: Float32Array.from(values) });
const SHARD1 = { 'model.a': t([1, 2]), 'model.b': t([3]) };
const SHARD2 = { 'model.c': t([4, 5, 6]), 'lm_head.weight': t([7]) };
const weightMap = {
  'model.a': 'model-00001-of-00002.safetensors',
  'model.b': 'model-00001-of-00002.safetensors',
  'model.c': 'model-00002-of-00002.safetensors',
  'lm_head.weight': 'model-00002-of-00002.safetensors',
};
let dir: string;
const index = (name: string, map: Record<string, string>) => writeFile(join(dir, name), JSON.stringify({ metadata: { total_size: 28 }, weight_map: map }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segllm-shard-'));
  await saveSafetensors(join(dir, 'model-00001-of-00002.safetensors'), SHARD1);
  await saveSafetensors(join(dir, 'model-00002-of-00002.safetensors'), SHARD2);
  await index('model.safetensors.index.json', weightMap);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sharded checkpoints', () => {
  it('reads every tensor from the shard the index names', async () => {
    const ckpt = await openShardedSafetensors(join(dir, 'model.safetensors.index.json'));
    expect(ckpt.keys()).toEqual(Object.keys(weightMap));
    expect(ckpt.shards()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(ckpt.metadata).toEqual({ total_size: 28 });
    expect(await ckpt.info('model.c')).toEqual({ dtype: 'float32', storedDtype: 'F32', shape: [3], byteLength: 12 });
    for (const [name, want] of Object.entries({ ...SHARD1, ...SHARD2 })) expect(await ckpt.read(name)).toEqual(want);
    await ckpt.close();
    await expect(ckpt.read('model.a')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('opens each shard once, only when one of its tensors is asked for (also from Blobs)', async () => {
    const blobs: Record<string, Blob> = {
      'model-00001-of-00002.safetensors': new Blob([serializeSafetensors(SHARD1)]),
      'model-00002-of-00002.safetensors': new Blob([serializeSafetensors(SHARD2)]),
    };
    const opened: string[] = [];
    const ckpt = new ShardedSafetensors(parseShardIndex({ weight_map: weightMap }), (shard) => {
      opened.push(shard);
      return Promise.resolve(blobs[shard]);
    });
    await Promise.all([ckpt.read('model.c'), ckpt.read('lm_head.weight'), ckpt.info('model.c')]);
    expect(opened).toEqual(['model-00002-of-00002.safetensors']);
    expect((await ckpt.read('model.a')).data).toEqual(Float32Array.from([1, 2]));
    expect(opened).toHaveLength(2);
  });

  it('names a missing shard and the tensor that needed it, and still reads the other shards', async () => {
    await index('missing.index.json', { ...weightMap, 'model.d': 'model-00003-of-00003.safetensors' });
    const ckpt = await openCheckpoint(join(dir, 'missing.index.json'));
    await expect(ckpt.read('model.d')).rejects.toMatchObject({ code: 'SHARD_MISSING', tensor: 'model.d' });
    await expect(ckpt.read('model.d')).rejects.toThrow(/shard "model-00003-of-00003.safetensors" \(holding "model.d"\) is missing/);
    expect((await ckpt.read('model.b')).data).toEqual(Float32Array.from([3]));
    await ckpt.close();
  });

  it('reports a tensor mapped to a shard that lacks it, and a name the index does not list', async () => {
    await index('wrong.index.json', { ...weightMap, 'model.c': 'model-00001-of-00002.safetensors' });
    const ckpt = await openShardedSafetensors(join(dir, 'wrong.index.json'));
    await expect(ckpt.read('model.c')).rejects.toMatchObject({ code: 'SHARD_LACKS_TENSOR', tensor: 'model.c' });
    await expect(ckpt.info('nope')).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND' });
    await ckpt.close();
  });

  it('rejects malformed indexes', () => {
    for (const bad of ['{', '{"weight_map": 3}', '[]', { weight_map: { a: 7 } }, { weight_map: { a: '../secret.safetensors' } }, { weight_map: { a: '/etc/x' } }]) {
      expect(() => parseShardIndex(bad)).toThrow(expect.objectContaining({ code: 'INVALID_INDEX' }));
    }
    expect(parseShardIndex({ weight_map: { a: 'sub/x.safetensors' } }).weightMap.get('a')).toBe('sub/x.safetensors');
  });

  it('opens a plain file through openCheckpoint too', async () => {
    const single = await openCheckpoint(join(dir, 'model-00001-of-00002.safetensors'));
    expect(single.keys()).toEqual(['model.a', 'model.b']);
    expect(await single.info('model.a')).toMatchObject({ shape: [2] });
    await single.close();
  });
});
