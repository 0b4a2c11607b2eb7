/**
 * WebGPU peers for `npm run bench -w @segllm/tensor -- --backend webgpu`: @tensorflow/tfjs-backend-webgpu 4.22 on
 * the same Dawn (`webgpu` package) that @segllm/tensor uses in Node, through a `navigator.gpu` it is given here.
 * Also onnxruntime-node's WebGPU execution provider. TF.js has no float16 tensors: `half` workloads run in float32 there (the row label says so).
 */
import type { Peer, Workload } from './peers.ts';
import { convOut, ortPeer, tfjsPeer, type Tf } from './peers.ts';

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
    if (await tf.setBackend('webgpu')) {
      const adapter = (await (g.navigator as { gpu: GPU }).gpu.requestAdapter()) as GPUAdapter;
      peers.push(guarded(tfjsPeer(tf, 'tfjs-webgpu', 'webgpu'), adapter.limits.maxStorageBufferBindingSize));
    } else notes.push('tfjs-webgpu: the backend did not initialise');
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

/** Bytes of the largest float32 tensor a plain (unsplit) implementation binds for `w`. */
function largestTensor(w: Workload): number {
  if (w.op === 'matmul') return 4 * Math.max(w.M * w.K, w.K * w.N, w.M * w.N);
  if (w.op === 'conv2d') {
    const [ho, wo] = convOut(w);
    return 4 * Math.max(w.N * w.C * w.H * w.W, w.N * w.O * ho * wo);
  }
  return 4 * w.H * Math.max(w.T * w.D, (w.Tq ?? w.T) * w.T); // the materialised score matrix
}

/**
 * A peer that binds each tensor as one storage buffer: cases with a tensor over the adapter's binding limit are
 * refused (the bench prints the reason as a note): Dawn would reject the bind group, nothing would run, and the
 * timing would be meaningless.
 */
function guarded(peer: Peer, maxBinding: number): Peer {
  return {
    name: peer.name,
    prepare(w) {
      const bytes = largestTensor(w);
      if (bytes <= maxBinding) return peer.prepare(w);
      return Promise.reject(new Error(`skipped: a ${(bytes / 2 ** 20).toFixed(0)} MiB tensor exceeds maxStorageBufferBindingSize (${(maxBinding / 2 ** 20).toFixed(0)} MiB)`));
    },
  };
}
