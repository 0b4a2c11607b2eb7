/**
 * The core on its own, on every backend: views over one storage (shapes, strides, offsets, reference counts), the
 * autograd tape (accumulation, shared inputs, released graphs, noGrad, errors) and the memory model (tidy scopes,
 * keep, dispose, leak reports). Ops appear only as the simplest way to create views and records.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { availableBackends } from './testing/backends.ts';
import { DisposedError, tensor, type Tensor } from './tensor.ts';
import { keep, leakedTensors, liveTensorCount, setDebugMemory, tidy } from './memory.ts';
import { AutogradError, noGrad } from './autograd/engine.ts';
import { ShapeError } from './shape.ts';
import { copyInto } from './ops/copy/copy.ts';
import './index.ts'; // every op and the Tensor methods

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

describe.each(await availableBackends())('views and strides on %s', (backend) => {
  const base = () => tensor(Array.from({ length: 24 }, (_, i) => i), { backend, shape: [2, 3, 4] });

  it('reshape, permute, expand, slice and select are views: metadata over the same storage', async () => {
    const x = base();
    const r = x.reshape([6, 4]);
    const p = x.permute([2, 0, 1]);
    const s = x.slice(2, 1, 4, 2); // [2, 3, 2]: columns 1 and 3
    const e = tidy(() => x.select(0, 1).narrow(0, 1, 1).expand([5, 4])); // the intermediate views die here
    for (const v of [r, p, s, e]) expect(v.storage).toBe(x.storage);
    expect(x.storage.refs).toBe(5);
    expect([r.strides, p.strides, s.strides, e.strides]).toEqual([[4, 1], [1, 12, 4], [12, 4, 2], [0, 1]]);
    expect([s.offset, e.offset]).toEqual([1, 16]);
    expect([r.isContiguous, p.isContiguous, s.isContiguous]).toEqual([true, false, false]);
    expect(await values(s)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    expect(await values(e)).toEqual(Array.from({ length: 5 }, () => [16, 17, 18, 19]).flat());
    expect(await values(p.narrow(0, 3, 1))).toEqual([3, 7, 11, 15, 19, 23]);
    for (const v of [r, p, s, e, x]) v.dispose();
  });

  it('contiguous() copies a strided view into row-major order in new storage', async () => {
    const x = base();
    const t = x.transpose(0, 2);
    const c = t.contiguous();
    expect(c.storage).not.toBe(x.storage);
    expect(c.strides).toEqual([6, 2, 1]);
    expect(await values(c)).toEqual(await values(t));
    expect((await values(c)).slice(0, 6)).toEqual([0, 12, 4, 16, 8, 20]);
    for (const v of [x, t, c]) v.dispose();
  });

  it('writing through a strided view changes the tensor it views', async () => {
    const x = base();
    copyInto(x.slice(2, 0, 4, 3).select(0, 0), tensor([-1, -2, -3, -4, -5, -6], { backend, shape: [3, 2] }));
    expect((await values(x)).slice(0, 12)).toEqual([-1, 1, 2, -2, -3, 5, 6, -4, -5, 9, 10, -6]);
    x.dispose();
  });

  it('storage lives while any view does; a disposed tensor refuses use with a typed error', async () => {
    const x = base();
    const v = x.slice(0, 1, 2);
    x.dispose();
    expect(x.storage.refs).toBe(1);
    expect(await values(v)).toEqual(Array.from({ length: 12 }, (_, i) => 12 + i));
    v.dispose();
    expect(v.storage.refs).toBe(0);
    expect(() => v.add(1)).toThrow(DisposedError);
    v.dispose(); // idempotent
  });
});

describe.each(await availableBackends())('the autograd tape on %s', (backend) => {
  const leaf = (xs: number[]) => {
    const t = tensor(xs, { backend });
    t.requiresGrad = true;
    return t;
  };

  it('a shared input gets the sum of its paths; leaves without requiresGrad get nothing', async () => {
    const a = leaf([1, 2, 3]);
    const b = leaf([4, -5, 6]);
    const c = tensor([2, 2, 2], { backend });
    // y = sum(a * b + a * a * c): dy/da = b + 2ac, dy/db = a
    tidy(() => a.mul(b).add(a.mul(a).mul(c)).sum()).backward();
    expect(await values(a.grad!)).toEqual([8, 3, 18]);
    expect(await values(b.grad!)).toEqual([1, 2, 3]);
    expect(c.grad).toBeNull();
    for (const t of [a, b, c]) t.dispose();
  });

  it('gradients accumulate over backward calls; a released graph refuses a second pass', async () => {
    const a = leaf([1, -2]);
    const y = a.mul(3).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(await values(a.grad!)).toEqual([6, 6]);
    expect(() => y.backward()).toThrow(AutogradError);
    y.dispose();
    a.dispose();
  });

  it('an upstream gradient of the output shape seeds a non-scalar root; anything else is an error', async () => {
    const a = leaf([1, 2, 3]);
    const y = a.square();
    expect(() => y.backward()).toThrow(AutogradError);
    expect(() => y.backward(tensor([1, 1], { backend }))).toThrow(ShapeError);
    const g = tensor([1, 0.5, -1], { backend });
    y.backward(g);
    expect(await values(a.grad!)).toEqual([2, 2, -6]);
    for (const t of [a, y, g]) t.dispose();
  });

  it('noGrad records nothing; backward of a tensor that needs no grad is an error', () => {
    const a = leaf([1, 2]);
    const y = noGrad(() => a.mul(2).sum());
    expect([y.requiresGrad, y.node]).toEqual([false, null]);
    expect(() => y.backward()).toThrow(AutogradError);
    y.dispose();
    a.dispose();
  });
});

describe.each(await availableBackends())('the memory model on %s', (backend) => {
  it('tidy disposes what it created except its result and kept tensors; nested results move to the parent', () => {
    const before = liveTensorCount();
    let inner: Tensor | undefined;
    let kept: Tensor | undefined;
    const out = tidy(() => {
      const x = tensor([1, 2, 3], { backend });
      kept = keep(x.add(1));
      inner = tidy(() => x.mul(2).add(x)); // intermediates die here, the result moves to this scope
      expect(inner.isDisposed).toBe(false);
      return { y: x.sub(1), list: [x.neg()] };
    });
    expect(inner!.isDisposed).toBe(true); // not returned by the outer scope
    expect([out.y.isDisposed, out.list[0].isDisposed, kept!.isDisposed]).toEqual([false, false, false]);
    expect(liveTensorCount()).toBe(before + 3);
    for (const t of [out.y, out.list[0], kept!]) t.dispose();
    expect(liveTensorCount()).toBe(before);
  });

  it('tidy refuses async functions (the readback belongs outside)', () => {
    expect(() => tidy(() => Promise.resolve(tensor([1], { backend })))).toThrow(TypeError);
  });

  it('a tensor garbage-collected without dispose is reported in debug mode', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    setDebugMemory(true);
    try {
      const n = leakedTensors().length;
      (() => void tensor([1, 2, 3, 4, 5, 6, 7], { backend, shape: [7] }).add(0))();
      for (let i = 0; i < 20 && leakedTensors().length === n; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(leakedTensors().slice(n).some((d) => d.includes('[7]'))).toBe(true);
    } finally {
      setDebugMemory(false);
    }
  });
});
