/**
 * Peer implementations for the @segllm/tensor benchmarks: TF.js (plain-JS CPU and WebAssembly SIMD backends) and
 * onnxruntime-node (CPU execution provider, weights as initializers so it pre-packs them). Each peer prepares one
 * workload and returns a `run` that computes it once, outputs materialised.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as OrtNode from 'onnxruntime-node';
import { onnxModel, type OnnxGraph } from './onnx.ts';

/**
 * One benchmark case. `bT`: the matmul weight is stored [N, K] (nn.Linear) and used transposed (onnxruntime, which
 * pre-packs initializers, gets it as [K, N]). `half`: float16 operands on implementations that have them (peers without float16 run float32
 * and the row's shape label says so). Attention: `T` keys/values per head, `Tq` queries (default `T`; 1 = decode).
 */
export type Workload =
  | { op: 'matmul'; M: number; K: number; N: number; half?: boolean; bT?: boolean }
  | { op: 'conv2d'; N: number; C: number; H: number; W: number; O: number; k: number; pad: number; stride?: number }
  | { op: 'attention'; H: number; T: number; D: number; Tq?: number; half?: boolean };

/** Output height/width of a conv workload. */
export function convOut(w: Extract<Workload, { op: 'conv2d' }>): [number, number] {
  const s = w.stride ?? 1;
  return [Math.floor((w.H + 2 * w.pad - w.k) / s) + 1, Math.floor((w.W + 2 * w.pad - w.k) / s) + 1];
}

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

export type Tf = typeof TfCore;

/** One TF.js backend as a peer (the backend must be registered by importing its package first). */
export function tfjsPeer(tf: Tf, name: string, backend: string): Peer {
  return {
    name,
    async prepare(w) {
      if (!(await tf.setBackend(backend))) return null;
      await tf.ready();
      const t = (shape: number[], seed: number) => tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape);
      let inputs: TfCore.Tensor[];
      let fn: () => TfCore.Tensor;
      if (w.op === 'matmul') {
        const [a, b] = [t([w.M, w.K], 1), w.bT ? t([w.N, w.K], 2) : t([w.K, w.N], 2)];
        inputs = [a, b];
        fn = () => tf.matMul(a, b, false, !!w.bT);
      } else if (w.op === 'conv2d') {
        // TF.js convolves NHWC with [kh, kw, in, out] filters: same arithmetic as NCHW.
        const x = t([w.N, w.H, w.W, w.C], 1) as TfCore.Tensor4D;
        const f = t([w.k, w.k, w.C, w.O], 2) as TfCore.Tensor4D;
        inputs = [x, f];
        const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [w.pad, w.pad], [w.pad, w.pad], [0, 0]];
        fn = () => tf.conv2d(x, f, w.stride ?? 1, pad);
      } else {
        const [q, k, v] = [t([w.H, w.Tq ?? w.T, w.D], 1), t([w.H, w.T, w.D], 2), t([w.H, w.T, w.D], 3)];
        inputs = [q, k, v];
        const scale = 1 / Math.sqrt(w.D);
        fn = () => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);
      }
      return {
        run: async () => {
          const out = tf.tidy(fn);
          await out.data();
          out.dispose();
        },
        dispose: () => inputs.forEach((x) => x.dispose()),
      };
    },
  };
}

async function tfjsPeers(notes: string[]): Promise<Peer[]> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  tf.enableProdMode(); // no debug checks (and no tfjs-node banner)
  const peers: Peer[] = [];
  const make = (name: string, backend: string): Peer => tfjsPeer(tf, name, backend);
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
    const [Ho, Wo] = convOut(w);
    const st = w.stride ?? 1;
    return {
      graph: {
        nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: [{ name: 'pads', ints: [w.pad, w.pad, w.pad, w.pad] }, { name: 'kernel_shape', ints: [w.k, w.k] }, { name: 'strides', ints: [st, st] }] }],
        inputs: [{ name: 'x', shape: [w.N, w.C, w.H, w.W] }],
        outputs: [{ name: 'y', shape: [w.N, w.O, Ho, Wo] }],
        initializers: [{ name: 'w', shape: [w.O, w.C, w.k, w.k], data: values(w.O * w.C * w.k * w.k, 2) }],
      },
      feeds: { x: { shape: [w.N, w.C, w.H, w.W], data: values(w.N * w.C * w.H * w.W, 1) } },
    };
  }
  const s = [w.H, w.T, w.D];
  const sq = [w.H, w.Tq ?? w.T, w.D];
  return {
    graph: {
      nodes: [
        { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: [{ name: 'perm', ints: [0, 2, 1] }] },
        { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'scale'], outputs: ['ss'] },
        { op: 'Softmax', inputs: ['ss'], outputs: ['p'], attrs: [{ name: 'axis', int: -1 }] },
        { op: 'MatMul', inputs: ['p', 'v'], outputs: ['y'] },
      ],
      inputs: [{ name: 'q', shape: sq }, { name: 'k', shape: s }, { name: 'v', shape: s }],
      outputs: [{ name: 'y', shape: sq }],
      initializers: [{ name: 'scale', shape: [], data: Float32Array.of(1 / Math.sqrt(w.D)) }],
    },
    feeds: { q: { shape: sq, data: values(w.H * (w.Tq ?? w.T) * w.D, 1) }, k: { shape: s, data: values(w.H * w.T * w.D, 2) }, v: { shape: s, data: values(w.H * w.T * w.D, 3) } },
  };
}

/** onnxruntime-node with the given session options (execution provider, threads) as a peer. */
export async function ortPeer(name: string, options: OrtNode.InferenceSession.SessionOptions): Promise<Peer> {
  const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
  const ort: Ort = mod.default ?? mod;
  return {
    name,
    async prepare(w) {
      const { graph, feeds } = ortGraph(w);
      const session = await ort.InferenceSession.create(onnxModel(graph), { graphOptimizationLevel: 'all', ...options });
      const tensors = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor('float32', f.data, f.shape)]));
      return {
        run: async () => {
          const out = await session.run(tensors);
          for (const t of Object.values(out)) t.dispose();
        },
        dispose: () => session.release(),
      };
    },
  };
}

async function ortPeers(threads: number[]): Promise<Peer[]> {
  return Promise.all(threads.map((n) => ortPeer(`onnxruntime-node (${n} thread${n > 1 ? 's' : ''})`, { intraOpNumThreads: n, interOpNumThreads: 1 })));
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
