/**
 * npx tsx --conditions=@segllm/source packages/tensor/scripts/webgpu-split.ts
 * A real-size split weight: LLaMA-7B's down_proj in f32, W [4096, 11008] (180 MiB, above lavapipe's 128 MiB
 * maxStorageBufferBindingSize, and 11008 does not divide a power-of-two chunk), used by linear (GEMV and a 7-row
 * prefill), by embedding lookups, and loaded the way loadSafetensorsInto does (copy into a split parameter, and a
 * float16 -> float32 cast from one buffer into the split parameter), against the CPU backend.
 */
import { copyInto, getBackend, initWebGPU, shutdownWebGPU, tensor, linear, embedding, zeros } from '@segllm/tensor';

await initWebGPU();
const [N, K] = [4096, 11008];
const w = new Float32Array(N * K);
for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.001) * 0.05;
const x = new Float32Array(7 * K);
for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.37);
const ids = [0, 3047, 3048, 4095, 1234];
const wc = tensor(w, { shape: [N, K] });
const wg = tensor(w, { shape: [N, K], backend: 'webgpu' });
const chunks = (wg.storage as { chunks?: { count: number }[] }).chunks;
console.log(`limit ${getBackend('webgpu').info?.().limits ? String((getBackend('webgpu').info!().limits as Record<string, number>).maxStorageBufferBindingSize) : '?'} bytes; chunks (rows): ${chunks?.map((c) => c.count / K).join(', ')}`);
for (const M of [1, 7]) {
  const t0 = performance.now();
  const yg = await linear(tensor(x.slice(0, M * K), { shape: [M, K], backend: 'webgpu' }), wg).data();
  const t1 = performance.now();
  const yc = await linear(tensor(x.slice(0, M * K), { shape: [M, K] }), wc).data();
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < yc.length; i++) {
    worst = Math.max(worst, Math.abs(yg[i] - yc[i]));
    scale = Math.max(scale, Math.abs(yc[i]));
  }
  console.log(`linear [${M}, ${K}] x W^T: max |webgpu - cpu| = ${worst.toExponential(2)} (max |y| ${scale.toFixed(2)}), ${(t1 - t0).toFixed(0)} ms`);
}
const eg = await embedding(tensor(ids, { dtype: 'int32', backend: 'webgpu' }), wg).data();
const ec = await embedding(tensor(ids, { dtype: 'int32' }), wc).data();
console.log(`embedding rows ${ids.join(', ')}: ${eg.every((v, i) => v === ec[i]) ? 'identical to the CPU' : 'DIFFERENT from the CPU'}`);
// loading: a split float32 parameter (3048 + 1048 rows) filled from a float16 source (90 MiB, one buffer)
const w16 = tensor(w, { shape: [N, K], dtype: 'float16', backend: 'webgpu' });
const param = zeros([N, K], { backend: 'webgpu' });
copyInto(param, w16);
const back = await param.data();
const want = await tensor(w, { shape: [N, K] }).to('float16').to('float32').data();
console.log(`copy float16 -> float32 split parameter: ${back.every((v, i) => v === want[i]) ? 'identical to the CPU cast' : 'DIFFERENT from the CPU cast'}`);
shutdownWebGPU();
