/**
 * The peer comparison of `npm run bench -w @segllm/core -- --train`: one pre-norm transformer block (LayerNorm,
 * 8-head self-attention, LayerNorm, MLP 4D with GELU), mean-square loss, backward and AdamW, on B x T tokens of width
 * D — ours on a backend, and the same step in PyTorch CPU (Debian's python3-torch, train_peer.py) in the same run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@segllm/tensor';
import { AdamW, GELU, LayerNorm, Linear, Module, MultiheadAttention, manualSeed, randn, tidy } from '@segllm/tensor';

class Block extends Module {
  norm1: LayerNorm;
  attn: MultiheadAttention;
  norm2: LayerNorm;
  fc1: Linear;
  act = new GELU();
  fc2: Linear;
  constructor(d: number) {
    super();
    this.norm1 = new LayerNorm(d);
    this.attn = new MultiheadAttention(d, 8, { batchFirst: true });
    this.norm2 = new LayerNorm(d);
    this.fc1 = new Linear(d, 4 * d);
    this.fc2 = new Linear(4 * d, d);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.norm1.forward(x);
      const [a] = this.attn.forward(h, h, h, { needWeights: false });
      const y = x.add(a);
      return y.add(this.fc2.forward(this.act.forward(this.fc1.forward(this.norm2.forward(y)))));
    });
  }
}

export interface PeerShape {
  B: number;
  T: number;
  D: number;
  steps: number;
}

/** Milliseconds per training step of the block on `backend`. */
export async function oursBlockStepMs(backend: string, s: PeerShape): Promise<number> {
  manualSeed(0);
  const m = new Block(s.D);
  if (backend !== 'cpu') await m.to(backend);
  const opt = new AdamW(m.parameters(), { lr: 1e-4, weightDecay: 0 });
  const xb = randn([s.B, s.T, s.D], { backend });
  const yb = randn([s.B, s.T, s.D], { backend });
  const step = async () => {
    const loss = tidy(() => m.forward(xb).sub(yb).square().mean());
    loss.backward();
    opt.step();
    opt.zeroGrad();
    await loss.data();
    loss.dispose();
  };
  await step();
  const t0 = performance.now();
  for (let i = 0; i < s.steps; i++) await step();
  const ms = (performance.now() - t0) / s.steps;
  opt.dispose();
  m.dispose();
  return ms;
}

/** PyTorch CPU on the same step, or null (with the reason) when python3-torch is missing. */
export function pytorchBlockStepMs(s: PeerShape, threads: number): { ms: number; version: string } | { error: string } {
  const script = fileURLToPath(new URL('./train_peer.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, String(s.B), String(s.T), String(s.D), String(s.steps), String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').at(-1) ?? 'python3 failed' };
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { stepMs: number; torch: string };
  return { ms: j.stepMs, version: j.torch };
}
