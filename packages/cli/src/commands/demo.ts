/** `segllm demo`: shows what the library does today on this machine (backends, a small autograd computation). */
import { availableBackends } from '@segllm/tensor/testing';
import { getBackend, randn, tidy } from '@segllm/tensor';
import type { Command } from './index.ts';

export const demoCommand: Command = {
  path: ['demo'],
  summary: 'show the backends found here and run a small autograd computation on each',
  async run() {
    const backends = await availableBackends();
    process.stdout.write(`backends: ${backends.join(', ')}\n`);
    for (const name of backends) {
      const info = getBackend(name).info?.() ?? {};
      const t0 = performance.now();
      const { loss, grad } = tidy(() => {
        const w = randn([64, 64], { backend: name, requiresGrad: true });
        const x = randn([32, 64], { backend: name });
        const l = x.matmul(w).gelu().square().mean();
        l.backward();
        return { loss: l, grad: w.grad!.abs().sum() };
      });
      const [lv, gv] = [await loss.item(), await grad.item()];
      process.stdout.write(`${name}: loss ${lv.toFixed(6)}, |grad|_1 ${gv.toFixed(4)} in ${(performance.now() - t0).toFixed(1)} ms ${JSON.stringify(info)}\n`);
    }
    return 0;
  },
};
