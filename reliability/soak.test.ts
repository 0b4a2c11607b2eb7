/** The soak of soak.ts, short: 30 rounds with undo/reset and 5 open/dispose cycles return memory to the start. */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '@segllm/tensor/testing';
import { soak, tinyModel } from './soak.ts';

describe.each(await availableBackends())('soak on %s (issue 17)', (backend) => {
  it('30 rounds with undo/reset, then 5 session open/dispose cycles: live tensors and backend bytes back to the start', async () => {
    const model = await tinyModel(backend);
    // WebGPU runs on a software adapter in CI (lavapipe): fewer rounds there.
    const [rounds, cycles] = backend === 'webgpu' ? [8, 2] : [30, 5];
    const r = await soak(model, { backend, rounds, cycles, every: 10 });
    const start = r.samples[0];
    expect(r.samples.map((s) => s.at)).toEqual(['start', ...Array.from({ length: Math.floor(rounds / 10) }, (_, i) => `round ${10 * (i + 1)}`), 'after dispose', `after ${cycles} open/dispose cycles`]);
    for (const s of r.samples.filter((x) => x.at.startsWith('after'))) {
      expect(s.liveTensors, s.at).toBe(start.liveTensors);
      expect(s.backendBytes, s.at).toBe(start.backendBytes);
    }
    expect(r.undos).toBe(Math.floor(rounds / 7));
    model.model.dispose();
  });
});
