/**
 * Peer implementations for the @segllm/tensor benchmarks: TF.js (plain-JS CPU and WebAssembly SIMD backends) and
 * onnxruntime-node (CPU execution provider, weights as initializers so it pre-packs them). Each peer prepares one
 * workload and returns a `run` that computes it once, outputs materialised.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as OrtNode from 'onnxruntime-node';
import { onnxModel, type OnnxGraph } from './onnx.ts';

export type Workload =
  | { op: 'matmul'; M: number; K: number; N: number }
  | { op: 'conv2d'; N: number; C: number; H: number; W: number; O: number; k: number; pad: number }
  | { op: 'attention'; H: number; T: number; D: number };

export interface PeerCase {
  run(): void | Promise<void>;
  dispose(): void | Promise<void>;
}

export interface Peer {
  name: string;
  prepare(w: Workload): Promise<PeerCase | null>;
}

/** Deterministic values in [-1, 1) (the same generator for every implementation). */
export function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

type Tf = typeof TfCore;

async function tfjsPeers(notes: string[]): Promise<Peer[]> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  tf.enableProdMode(); // no debug checks (and no tfjs-node banner)
  const peers: Peer[] = [];
  const make = (name: string, backend: string): Peer => ({
    name,
    async prepare(w) {
      if (!(await tf.setBackend(backend))) return null;
      await tf.ready();
      const t = (shape: number[], seed: number) => tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape);
      let inputs: TfCore.Tensor[];
      let fn: () => TfCore.Tensor;
      if (w.op === 'matmul') {
        const [a, b] = [t([w.M, w.K], 1), t([w.K, w.N], 2)];
        inputs = [a, b];
        fn = () => tf.matMul(a, b);
      } else if (w.op === 'conv2d') {
        // TF.js convolves NHWC with [kh, kw, in, out] filters: same arithmetic as NCHW.
        const x = t([w.N, w.H, w.W, w.C], 1) as TfCore.Tensor4D;
        const f = t([w.k, w.k, w.C, w.O], 2) as TfCore.Tensor4D;
        inputs = [x, f];
        fn = () => tf.conv2d(x, f, 1, w.pad === (w.k - 1) / 2 ? 'same' : 'valid');
      } else {
        const [q, k, v] = [t([w.H, w.T, w.D], 1), t([w.H, w.T, w.D], 2), t([w.H, w.T, w.D], 3)];
        inputs = [q, k, v];
        const scale = 1 / Math.sqrt(w.D);
        fn = () => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);
      }
      return {
        run: () => {
          const out = tf.tidy(fn);
          out.dataSync();
          out.dispose();
        },
        dispose: () => inputs.forEach((x) => x.dispose()),
      };
    },
  });
  peers.push(make('tfjs-cpu', 'cpu'));
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      peers.push(make(`tfjs-wasm (${simd ? 'SIMD, ' : ''}${wasm.getThreadsCount()} thread)`, 'wasm'));
      notes.push('tfjs-wasm runs one thread under Node: its threaded build needs Web Workers (forcing WASM_HAS_MULTITHREAD_SUPPORT fails to initialise)');
    } else notes.push('tfjs-wasm: the wasm backend did not initialise');
  } catch (e) {
    notes.push(`tfjs-wasm unavailable: ${String(e)}`);
  }
  return peers;
}

type Ort = typeof OrtNode;

function ortGraph(w: Workload): { graph: OnnxGraph; feeds: Record<string, { shape: number[]; data: Float32Array }> } {
  if (w.op === 'matmul') {
    return {
      graph: {
        nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
        inputs: [{ name: 'a', shape: [w.M, w.K] }],
        outputs: [{ name: 'y', shape: [w.M, w.N] }],
        initializers: [{ name: 'b', shape: [w.K, w.N], data: values(w.K * w.N, 2) }],
      },
      feeds: { a: { shape: [w.M, w.K], data: values(w.M * w.K, 1) } },
    };
  }
  if (w.op === 'conv2d') {
    const Ho = w.H + 2 * w.pad - w.k + 1;
    const Wo = w.W + 2 * w.pad - w.k + 1;
    return {
      graph: {
        nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: [{ name: 'pads', ints: [w.pad, w.pad, w.pad, w.pad] }, { name: 'kernel_shape', ints: [w.k, w.k] }] }],
        inputs: [{ name: 'x', shape: [w.N, w.C, w.H, w.W] }],
        outputs: [{ name: 'y', shape: [w.N, w.O, Ho, Wo] }],
        initializers: [{ name: 'w', shape: [w.O, w.C, w.k, w.k], data: values(w.O * w.C * w.k * w.k, 2) }],
      },
      feeds: { x: { shape: [w.N, w.C, w.H, w.W], data: values(w.N * w.C * w.H * w.W, 1) } },
    };
  }
  const s = [w.H, w.T, w.D];
  return {
    graph: {
      nodes: [
        { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: [{ name: 'perm', ints: [0, 2, 1] }] },
        { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'scale'], outputs: ['ss'] },
        { op: 'Softmax', inputs: ['ss'], outputs: ['p'], attrs: [{ name: 'axis', int: -1 }] },
        { op: 'MatMul', inputs: ['p', 'v'], outputs: ['y'] },
      ],
      inputs: [{ name: 'q', shape: s }, { name: 'k', shape: s }, { name: 'v', shape: s }],
      outputs: [{ name: 'y', shape: s }],
      initializers: [{ name: 'scale', shape: [], data: Float32Array.of(1 / Math.sqrt(w.D)) }],
    },
    feeds: { q: { shape: s, data: values(w.H * w.T * w.D, 1) }, k: { shape: s, data: values(w.H * w.T * w.D, 2) }, v: { shape: s, data: values(w.H * w.T * w.D, 3) } },
  };
}

async function ortPeers(threads: number[]): Promise<Peer[]> {
  const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
  const ort: Ort = mod.default ?? mod;
  return threads.map((n) => ({
    name: `onnxruntime-node (${n} thread${n > 1 ? 's' : ''})`,
    async prepare(w) {
      const { graph, feeds } = ortGraph(w);
      const session = await ort.InferenceSession.create(onnxModel(graph), { intraOpNumThreads: n, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      const tensors = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor('float32', f.data, f.shape)]));
      return {
        run: async () => {
          const out = await session.run(tensors);
          for (const t of Object.values(out)) t.dispose();
        },
        dispose: () => session.release(),
      };
    },
  }));
}

/** Loads every peer that works here; `notes` collects what is missing and why. */
export async function loadPeers(opts: { threads: number }): Promise<{ peers: Peer[]; notes: string[] }> {
  const notes: string[] = [];
  const peers: Peer[] = [];
  try {
    peers.push(...(await tfjsPeers(notes)));
  } catch (e) {
    notes.push(`tfjs unavailable: ${String(e)}`);
  }
  try {
    peers.push(...(await ortPeers(opts.threads > 1 ? [opts.threads, 1] : [1])));
  } catch (e) {
    notes.push(`onnxruntime-node unavailable: ${String(e)}`);
  }
  return { peers, notes };
}
