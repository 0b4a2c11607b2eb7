import { describe, expect, it } from 'vitest';
import { availableBackends, gradcheck } from '../testing/index.ts';
import { Generator, randn } from '../random.ts';
import { tensor, zeros } from '../tensor.ts';
import type { Tensor } from '../tensor.ts';
import { liveTensorCount } from '../memory.ts';
import '../ops/index.ts';
import {
  BatchNorm2d, Conv2d, Dropout, Embedding, FrozenBatchNorm2d, GELU, LayerNorm, Linear, MLP, Module, MultiheadAttention,
  ReLU, Sequential, StateDictError, buffer, parameter, RMSNorm, GroupNorm, QuickGELU, SiLU,
} from './index.ts';

class Block extends Module {
  self_attn = new MultiheadAttention(8, 2);
  norm = new LayerNorm(8);
  mlp = new Sequential(new Linear(8, 16), new GELU(), new Linear(16, 8));
}

class Net extends Module {
  embed = new Embedding(10, 8);
  layers = [new Block(), new Block()];
  scale = parameter(tensor([1]));
  stats = buffer(zeros([2]));
  cache = buffer(zeros([3]), { persistent: false });
  bias: Tensor | null = null;
  label = 'not a tensor';
}

describe('layer gradchecks (float64)', () => {
  it('BatchNorm2d in training mode, FrozenBatchNorm2d, Linear', () => {
    const g = new Generator(4);
    const x = randn([2, 3, 2, 2], { dtype: 'float64', generator: g });
    const bn = new BatchNorm2d(3).toDtype('float64');
    bn.loadStateDict({ ...Object.fromEntries(bn.stateDict()), weight: tensor([1, 2, 0.5]), bias: tensor([0, 1, -1]) });
    let r = gradcheck((v) => bn.forward(v), [x]);
    expect(r.ok, r.message).toBe(true);
    const f = new FrozenBatchNorm2d(3).toDtype('float64');
    r = gradcheck((v) => f.forward(v), [x]);
    expect(r.ok, r.message).toBe(true);
    const lin = new Linear(4, 3, { generator: g }).toDtype('float64');
    r = gradcheck((v) => lin.forward(v), [randn([2, 4], { dtype: 'float64', generator: g })]);
    expect(r.ok, r.message).toBe(true);
  });
});

const keysOf = (m: Module) => [...m.stateDict().keys()];

describe('Module reflection', () => {
  it('names parameters and buffers as checkpoint keys, in assignment order', () => {
    const net = new Net();
    const keys = keysOf(net);
    expect(keys.slice(0, 8)).toEqual([
      'scale',
      'stats',
      'embed.weight',
      'layers.0.self_attn.in_proj_weight',
      'layers.0.self_attn.in_proj_bias',
      'layers.0.self_attn.out_proj.weight',
      'layers.0.self_attn.out_proj.bias',
      'layers.0.norm.weight',
    ]);
    expect(keys).toContain('layers.1.mlp.2.bias');
    expect(keys.at(-1)).toBe('layers.1.mlp.2.bias');
    expect(keys).not.toContain('cache');
    expect(net.namedBuffers().map(([k]) => k)).toEqual(['stats', 'cache']);
    expect(net.parameters().length).toBe(1 + 1 + 2 * 10);
    expect(net.numParameters()).toBe(80 + 2 * (3 * 64 + 24 + 64 + 8 + 16 + 8 * 16 + 16 + 16 * 8 + 8) + 1);
    net.dispose();
  });

  it('Sequential keeps numeric indices, parameterless children included (LLaVA mm_projector.0 / .2)', () => {
    class Llava extends Module {
      mm_projector = new Sequential(new Linear(4, 6), new GELU(), new Linear(6, 6));
    }
    const m = new Llava();
    expect(keysOf(m)).toEqual(['mm_projector.0.weight', 'mm_projector.0.bias', 'mm_projector.2.weight', 'mm_projector.2.bias']);
    expect(m.mm_projector.length).toBe(3);
    expect(m.mm_projector.at(1)).toBeInstanceOf(GELU);
    expect([...m.namedModules()].map(([k]) => k)).toEqual(['', 'mm_projector', 'mm_projector.0', 'mm_projector.1', 'mm_projector.2']);
    m.dispose();
  });

  it('MLP uses layers.i keys', () => {
    const m = new MLP(4, 8, 2, 3);
    expect(keysOf(m)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
    expect(m.layers[2].weight.shape).toEqual([2, 8]);
    m.dispose();
  });

  it('tied weights appear once in parameters() but under every key in stateDict(); back-references are not followed', () => {
    class Tied extends Module {
      embed = new Linear(3, 4, { bias: false });
      head = new Linear(3, 4, { bias: false });
      constructor() {
        super();
        this.head.weight.dispose();
        this.head.weight = this.embed.weight;
      }
    }
    const t = new Tied();
    (t.head as unknown as Record<string, unknown>).owner = t;
    expect(t.namedParameters().map(([k]) => k)).toEqual(['embed.weight']);
    expect(keysOf(t)).toEqual(['embed.weight', 'head.weight']);
    t.embed.dispose();
  });

  it('train()/eval() reach every descendant', () => {
    const net = new Net();
    net.eval();
    expect([...net.namedModules()].every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.layers[1].mlp.at(0).training).toBe(true);
    net.dispose();
  });

  it('dispose frees every parameter and buffer', () => {
    const before = liveTensorCount();
    const net = new Net();
    net.dispose();
    expect(liveTensorCount()).toBe(before);
  });
});

describe('state dicts', () => {
  it('round-trips between two differently initialised models, keeping the parameter objects', async () => {
    const a = new Net();
    const b = new Net();
    const w = b.layers[0].norm.weight!;
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missing: [], unexpected: [] });
    expect(b.layers[0].norm.weight).toBe(w);
    for (const [k, t] of a.stateDict()) expect(Array.from(await b.stateDict().get(k)!.data()), k).toEqual(Array.from(await t.data()));
    a.dispose();
    b.dispose();
  });

  it('strict loading lists every missing, unexpected and wrong-shaped key in one StateDictError', () => {
    const m = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
    const sd = {
      '0.weight': zeros([4, 3]),
      '0.bias': zeros([5]),
      '2.weight': zeros([2, 4]),
      'extra.weight': zeros([1]),
      'other': zeros([1]),
    };
    let err: unknown;
    try {
      m.loadStateDict(sd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const e = err as StateDictError;
    expect(e.name).toBe('StateDictError');
    expect(e.missing).toEqual(['2.bias']);
    expect(e.unexpected).toEqual(['extra.weight', 'other']);
    expect(e.mismatched).toEqual([{ key: '0.bias', expected: [4], got: [5] }]);
    expect(e.message).toContain('2.bias');
    expect(e.message).toContain('extra.weight');
    expect(e.message).toContain('0.bias expects [4], got [5]');
    // Non-strict: missing/unexpected reported, shapes still rejected.
    expect(() => m.loadStateDict(sd, { strict: false })).toThrow(StateDictError);
    delete (sd as Record<string, Tensor>)['0.bias'];
    expect(m.loadStateDict(sd, { strict: false })).toEqual({ missing: ['0.bias', '2.bias'], unexpected: ['extra.weight', 'other'] });
    m.dispose();
  });

  it('casts a bfloat16 checkpoint into float32 parameters', async () => {
    const m = new Linear(2, 2);
    const w = tensor([[1.5, -2], [0.25, 3]], { dtype: 'bfloat16' });
    m.loadStateDict({ weight: w, bias: tensor([0.5, -0.5], { dtype: 'bfloat16' }) });
    expect(m.weight.dtype).toBe('float32');
    expect(Array.from(await m.weight.data())).toEqual([1.5, -2, 0.25, 3]);
    m.dispose();
  });

  it('FrozenBatchNorm2d keeps all four tensors as buffers and ignores num_batches_tracked', () => {
    const bn = new BatchNorm2d(3);
    const f = new FrozenBatchNorm2d(3);
    expect(keysOf(bn)).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(keysOf(f)).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
    expect(f.parameters()).toEqual([]);
    expect(f.loadStateDict(bn.stateDict())).toEqual({ missing: [], unexpected: [] });
    bn.dispose();
    f.dispose();
  });

  it('toDtype casts floating parameters and buffers only', () => {
    const bn = new BatchNorm2d(2);
    bn.toDtype('float64');
    expect(bn.weight!.dtype).toBe('float64');
    expect(bn.weight!.requiresGrad).toBe(true);
    expect(bn.running_var.dtype).toBe('float64');
    expect(bn.num_batches_tracked.dtype).toBe('int32');
    expect(keysOf(bn)).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    bn.dispose();
  });

  it('to(backend) on the same backend keeps the tensors', async () => {
    const m = new Linear(2, 2);
    const w = m.weight;
    await m.to('cpu');
    expect(m.weight).toBe(w);
    m.dispose();
  });
});

const backends = await availableBackends();

describe.each(backends)('layers on %s', (backend) => {
  it('Linear matches x W^T + b', async () => {
    const l = new Linear(3, 2, { backend });
    l.loadStateDict({ weight: tensor([[1, 2, 3], [-1, 0, 1]]), bias: tensor([0.5, -0.5]) });
    const y = l.forward(tensor([[1, 1, 1], [2, 0, -1]], { backend }));
    expect(Array.from(await y.data())).toEqual([6.5, -0.5, -0.5, -3.5]);
    l.dispose();
  });

  it('Sequential runs Linear + activation as one fused linear with the same values and gradients', async () => {
    for (const act of [new ReLU(), new GELU(), new GELU('tanh'), new QuickGELU(), new SiLU()]) {
      const seq = new Sequential(new Linear(6, 5, { backend, generator: new Generator(3) }), act, new Linear(5, 2, { backend, generator: new Generator(4) }));
      const x = randn([4, 6], { generator: new Generator(5), backend });
      const y = seq.forward(x);
      const ref = seq.at(2).forward(act.forward(seq.at(0).forward(x)));
      const [a, b] = [await y.data(), await ref.data()];
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
      y.sum().backward();
      const g = await (seq.at(0) as Linear).weight.grad!.data();
      seq.zeroGrad();
      ref.sum().backward();
      const gr = await (seq.at(0) as Linear).weight.grad!.data();
      for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(gr[i], 5);
      seq.dispose();
    }
  });

  it('to(backend) moves parameters from the CPU, and loadStateDict moves CPU tensors in', async () => {
    const m = new Linear(2, 1);
    m.loadStateDict({ weight: tensor([[2, 3]]), bias: tensor([1]) });
    await m.to(backend);
    expect(m.weight.backend.name).toBe(backend);
    expect(m.weight.requiresGrad).toBe(true);
    expect([...m.stateDict().keys()]).toEqual(['weight', 'bias']);
    expect(Array.from(await m.forward(tensor([[1, 1]], { backend })).data())).toEqual([6]);
    m.loadStateDict({ weight: tensor([[1, 1]]), bias: tensor([0]) });
    expect(Array.from(await m.forward(tensor([[1, 2]], { backend })).data())).toEqual([3]);
    m.dispose();
  });

  it('Dropout is seeded, scales by 1/(1-p) in training and is the identity in eval', async () => {
    const x = tensor(new Float32Array(1000).fill(1), { backend });
    const d1 = new Dropout(0.3, new Generator(7));
    const d2 = new Dropout(0.3, new Generator(7));
    const a = await d1.forward(x).data();
    const b = await d2.forward(x).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    const kept = Array.from(a).filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    expect(kept.length).toBeGreaterThan(630);
    expect(kept.length).toBeLessThan(770);
    d1.eval();
    expect(Array.from(await d1.forward(x).data()).every((v) => v === 1)).toBe(true);
  });

  it('FrozenBatchNorm2d applies detectron2 scale/shift', async () => {
    const f = new FrozenBatchNorm2d(2, 1e-5, { backend });
    f.loadStateDict({ weight: tensor([2, 1]), bias: tensor([1, 0]), running_mean: tensor([1, -1]), running_var: tensor([4, 0.25]) });
    const y = await f.forward(tensor([3, 5, 0, 1], { backend, shape: [1, 2, 2, 1] })).data();
    const s0 = 2 / Math.sqrt(4 + 1e-5);
    const s1 = 1 / Math.sqrt(0.25 + 1e-5);
    const want = [(3 - 1) * s0 + 1, (5 - 1) * s0 + 1, (0 + 1) * s1, (1 + 1) * s1];
    want.forEach((w, i) => expect(y[i]).toBeCloseTo(w, 5));
  });

  it('BatchNorm2d: training uses batch stats and updates running stats; eval uses running stats', async () => {
    const bn = new BatchNorm2d(1, 1e-5, 0.1, { backend });
    const x = tensor([1, 2, 3, 4], { backend, shape: [2, 1, 1, 2] });
    const y = await bn.forward(x).data();
    const sd = Math.sqrt(1.25 + 1e-5);
    [1, 2, 3, 4].forEach((v, i) => expect(y[i]).toBeCloseTo((v - 2.5) / sd, 5));
    expect((await bn.running_mean.data())[0]).toBeCloseTo(0.25, 6);
    expect((await bn.running_var.data())[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6);
    expect((await bn.num_batches_tracked.data())[0]).toBe(1);
    bn.eval();
    const z = await bn.forward(x).data();
    expect(z[0]).toBeCloseTo((1 - 0.25) / Math.sqrt(0.9 + 0.5 / 3 + 1e-5), 5);
  });

  it('norm layers, Embedding and Conv2d forward through the functional ops', async () => {
    const x = tensor([1, 2, 3, 5], { backend, shape: [1, 4] });
    const ln = await new LayerNorm(4, 1e-5, { backend }).forward(x).data();
    const mu = 2.75;
    const v = (1.75 ** 2 + 0.75 ** 2 + 0.25 ** 2 + 2.25 ** 2) / 4;
    expect(ln[3]).toBeCloseTo((5 - mu) / Math.sqrt(v + 1e-5), 5);
    const rms = await new RMSNorm(4, 1e-6, { backend }).forward(x).data();
    expect(rms[0]).toBeCloseTo(1 / Math.sqrt((1 + 4 + 9 + 25) / 4 + 1e-6), 5);
    const gn = await new GroupNorm(2, 4, 1e-5, { backend }).forward(x.reshape([1, 4, 1, 1])).data();
    expect(gn[0]).toBeCloseTo(-0.5 / Math.sqrt(0.25 + 1e-5), 4);
    const e = new Embedding(3, 2, { backend, paddingIdx: 1 });
    const rows = await e.forward(tensor([1, 1], { dtype: 'int32', backend })).data();
    expect(Array.from(rows)).toEqual([0, 0, 0, 0]);
  });

  it('Conv2d forwards through conv2d', async () => {
    const c = new Conv2d(1, 1, 2, { backend, bias: false });
    c.loadStateDict({ weight: tensor([1, 1, 1, 1], { shape: [1, 1, 2, 2] }) });
    const y = await c.forward(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], { backend, shape: [1, 1, 3, 3] })).data();
    expect(Array.from(y)).toEqual([12, 16, 24, 28]);
  });
});
