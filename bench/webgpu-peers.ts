/**
 * WebGPU peers for `npm run bench -w @segllm/tensor -- --backend webgpu`: @tensorflow/tfjs-backend-webgpu 4.22 on
 * the same Dawn (`webgpu` package) that @segllm/tensor uses in Node, through a `navigator.gpu` it is given here.
 * Also onnxruntime-node's WebGPU execution provider. TF.js has no float16 tensors: `half` workloads run in float32 there (the row label says so).
 */
import type { Peer } from './peers.ts';
import { ortPeer, tfjsPeer, type Tf } from './peers.ts';

interface DawnModule {
  create(flags: string[]): unknown;
  globals: Record<string, unknown>;
}

export async function loadWebGPUPeers(): Promise<{ peers: Peer[]; notes: string[] }> {
  const notes: string[] = [];
  const peers: Peer[] = [];
  try {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator?.gpu) {
      const dawn = (await import('webgpu')) as unknown as DawnModule;
      Object.assign(globalThis, dawn.globals);
      // Node 20 has no global navigator; Node 21+ has one without `gpu`.
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: dawn.create([]), configurable: true });
      else g.navigator = { gpu: dawn.create([]) };
    }
    const tf: Tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    tf.enableProdMode();
    if (await tf.setBackend('webgpu')) peers.push(tfjsPeer(tf, 'tfjs-webgpu', 'webgpu'));
    else notes.push('tfjs-webgpu: the backend did not initialise');
  } catch (e) {
    notes.push(`tfjs-webgpu unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    // onnxruntime-node 1.30 ships a WebGPU execution provider (its own Dawn); ops it lacks fall back to its CPU EP.
    peers.push(await ortPeer('onnxruntime-node (webgpu EP)', { executionProviders: ['webgpu'] }));
  } catch (e) {
    notes.push(`onnxruntime-node webgpu EP unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { peers, notes };
}
