/**
 * HIPIE training-loss benchmark (`npm run bench -w @segllm/models -- hipie-loss`): SegLLM's sizes, batch 1, one <seg>
 * with a reference: image 1024 (mask logits 256 x 256), 100 fg queries and 4 DN slots over 6 decoder layers, 21760
 * encoder proposals, 12544 points per instance, seg tokens 8 x 768. Times `hipieLoss` (matching, point sampling with
 * readback, the loss graph, the total read back) and then `backward`, each the median of `iters` runs.
 */
import { Generator, fromStorageArray, rand, randn, tidy } from '@segllm/tensor';
import type { DType, Tensor } from '@segllm/tensor';
import { hipieLoss, segllmTarget, type HipieLossInput } from '../src/index.ts';
import type { HipieBenchRow } from './hipie.bench.ts';

const S = 1024;
const Q = 100;
const LAYERS = 6;
const ENC = 128 * 128 + 64 * 64 + 32 * 32 + 16 * 16;

function rect(x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(S * S);
  for (let y = y0; y < y1; y++) m.fill(1, y * S + x0, y * S + x1);
  return m;
}

function input(o: { backend: string; dtype: DType }, leaves: Tensor[]): HipieLossInput {
  const g = new Generator(0);
  const leaf = (t: Tensor) => {
    t.requiresGrad = true;
    leaves.push(t);
    return t;
  };
  const opts = { ...o, generator: g };
  const boxes = (n: number) => tidy(() => rand([1, n, 4], opts).mul(0.5).add(0.25));
  const layer = (n: number, iou: boolean) => ({ logits: leaf(randn([1, n, 8], opts)), boxes: leaf(boxes(n)), iou: iou ? leaf(randn([1, n, 1], opts)) : undefined });
  const maskFn = (m: Tensor) => (_b: number, qs: readonly number[]) => tidy(() => m.indexSelect(0, fromStorageArray(Int32Array.from(qs), [qs.length], 'int32', { backend: o.backend })));
  const fgMasks = Array.from({ length: LAYERS }, () => leaf(randn([Q, S / 4, S / 4], opts)));
  const gtMasks = Array.from({ length: LAYERS }, () => leaf(randn([4, S / 4, S / 4], opts)));
  return {
    targets: [segllmTarget(rect(300, 300, 500, 600), rect(200, 200, 700, 800), S)],
    fg: { layers: Array.from({ length: LAYERS }, () => layer(Q, true)), masks: fgMasks.map(maskFn) },
    gt: { layers: Array.from({ length: LAYERS }, () => layer(4, false)), masks: gtMasks.map(maskFn), maxT: 2 },
    enc: { logits: leaf(randn([1, ENC, 1], opts)), boxes: leaf(boxes(ENC)) },
    segTokens: leaf(randn([1, 8, 768], opts)),
    rng: () => g.random(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchHipieLoss(o: { backend: string; dtype: DType }, iters: number): Promise<HipieBenchRow[]> {
  const leaves: Tensor[] = [];
  const x = input(o, leaves);
  const fwd: number[] = [];
  const bwd: number[] = [];
  for (let i = 0; i < Math.max(1, iters); i++) {
    const t0 = performance.now();
    const r = await hipieLoss(x);
    await r.total.data();
    const t1 = performance.now();
    r.total.backward();
    for (const l of leaves) await l.grad?.data();
    fwd.push(t1 - t0);
    bwd.push(performance.now() - t1);
    for (const t of new Set([r.total, ...r.terms.values(), ...r.raw.fg.values(), ...(r.raw.gt?.values() ?? [])])) t.dispose();
    for (const l of leaves) {
      l.grad?.dispose();
      l.grad = null;
    }
  }
  leaves.forEach((l) => l.dispose());
  const row = (name: string, ms: number[]) => ({ backend: o.backend, case: name, dtype: o.dtype, ms: median(ms), runs: ms.length, gflop: NaN, gflops: NaN });
  return [row('HIPIE loss forward (6 + 6 layers, enc, 12544 points)', fwd), row('HIPIE loss backward', bwd)];
}
