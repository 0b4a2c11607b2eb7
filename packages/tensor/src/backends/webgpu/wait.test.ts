/**
 * The wait policy (./wait.ts): only the Dawn binding's polling callbacks (native, nameless functions) are turned into
 * 1 ms timers after the spin phase; everything else passes through; uninstalling restores setImmediate. On the
 * adapter: readbacks in 'sleep' mode return the right values and did sleep; 'spin' leaves setImmediate alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import { tensor } from '../../tensor.ts';
import * as ops from '../../ops/index.ts';
import { WaitPolicy } from './wait.ts';
import { rt } from './backend.ts';

const hasGpu = (await availableBackends()).includes('webgpu');

describe('WaitPolicy', () => {
  const g = globalThis as { setImmediate: typeof setImmediate };
  const original = g.setImmediate;
  afterEach(() => {
    g.setImmediate = original;
  });

  it('re-schedules native nameless callbacks as timers after the spin phase, passes the rest through, restores on uninstall', async () => {
    const w = new WaitPolicy();
    w.spinMs = 0;
    const before = g.setImmediate;
    w.install();
    expect(g.setImmediate).not.toBe(before);
    // a native function without a name stands in for the binding's tick (Function.prototype is one)
    const nativeTick = Function.prototype as () => void;
    g.setImmediate(nativeTick);
    expect(w.counts).toEqual({ spins: 0, sleeps: 1 });
    // JS callbacks, and calls with arguments, are untouched (and still run)
    const ran: number[] = [];
    await new Promise<void>((resolve) => g.setImmediate(() => (ran.push(1), resolve())));
    await new Promise<void>((resolve) => g.setImmediate((x: number) => (ran.push(x), resolve()), 2));
    expect(ran).toEqual([1, 2]);
    expect(w.counts).toEqual({ spins: 0, sleeps: 1 });
    // within the spin phase the tick stays an immediate
    w.spinMs = 60_000;
    w.begin();
    g.setImmediate(nativeTick);
    expect(w.counts).toEqual({ spins: 1, sleeps: 1 });
    w.uninstall();
    expect(g.setImmediate).toBe(before);
  });
});

describe.skipIf(!hasGpu)('webgpu wait modes', () => {
  afterEach(() => rt().setWaitMode('auto'));

  it("'sleep' sleeps while awaiting a long readback and returns the right values; 'spin' leaves setImmediate alone", async () => {
    const r = rt();
    const av = Array.from({ length: 384 * 384 }, (_, i) => Math.sin(i * 0.01));
    const bv = Array.from({ length: 384 * 384 }, (_, i) => Math.cos(i * 0.013));
    const want = await ops.matmul(tensor(av, { shape: [384, 384] }), tensor(bv, { shape: [384, 384] })).data();
    const a = tensor(av, { shape: [384, 384], backend: 'webgpu' });
    const b = tensor(bv, { shape: [384, 384], backend: 'webgpu' });
    r.setWaitMode('sleep', 0.2);
    expect(r.wait.installed).toBe(true);
    const sleeps = r.wait.counts.sleeps;
    const got = await ops.matmul(ops.matmul(a, b), b).data(); // ~113 MFLOP: well over 0.2 ms on any adapter
    const wantAB = await ops.matmul(tensor(Array.from(want), { shape: [384, 384] }), tensor(bv, { shape: [384, 384] })).data();
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      worst = Math.max(worst, Math.abs(got[i] - wantAB[i]));
      scale = Math.max(scale, Math.abs(wantAB[i]));
    }
    expect(worst / scale).toBeLessThan(1e-4); // f32, two products of K 384 summed in different orders
    expect(r.wait.counts.sleeps).toBeGreaterThan(sleeps);
    r.setWaitMode('spin');
    expect(r.wait.installed).toBe(false);
    expect(r.waitMode).toBe('spin');
    const again = await ops.matmul(a, b).data();
    expect(Array.from(again.slice(0, 8)).every((v, i) => Math.abs(v - want[i]) < 1e-3 * Math.max(1, Math.abs(want[i])))).toBe(true);
    r.setWaitMode('auto');
    expect(r.wait.installed).toBe(r.cpuAdapter);
  });
});
