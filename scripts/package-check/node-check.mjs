// Runs in the fresh project: the installed @segllm/core from Node ESM, without Dawn (webgpu is an optional peer).
import assert from 'node:assert/strict';
import { DEVICES, InvalidOptionError, WebGPUUnavailableError, initDevice, loadDefaultModel, loadSegLLM } from '@segllm/core';

assert.deepEqual([...DEVICES], ['auto', 'webgpu', 'cpu-wasm', 'cpu']);
await assert.rejects(initDevice('webgpu'), (e) => e instanceof WebGPUUnavailableError && /npm install webgpu/.test(e.message));
await assert.rejects(initDevice('tpu'), (e) => e instanceof InvalidOptionError && /'cpu-wasm'/.test(e.message));
await assert.rejects(loadSegLLM('./no-such-folder', { device: 'cpu', dtype: 'int8' }), (e) => e instanceof InvalidOptionError && /float16/.test(e.message));
const results = {};
for (const device of ['auto', 'cpu']) {
  const model = await loadDefaultModel({ device });
  const w = 40, h = 30;
  const data = new Uint8Array(w * h * 3).fill(30);
  for (let y = 8; y < 20; y++) for (let x = 10; x < 26; x++) data.set([220, 40, 40], (y * w + x) * 3);
  const session = await model.chat({ width: w, height: h, channels: 3, data });
  const r1 = await session.ask('Segment the red square.');
  const r2 = await session.ask('Segment the thing next to it. [REF:1]');
  assert.equal(r1.mask.length, w * h);
  assert.deepEqual(r2.referencedRounds, [1]);
  results[device] = { device: model.device, box: r1.box.map((v) => Math.round(v)) };
  model.dispose();
}
assert.equal(results.auto.device, 'cpu-wasm'); // no Dawn installed: auto falls back to WebAssembly
console.log(`node ESM: ok ${JSON.stringify(results)}`);
