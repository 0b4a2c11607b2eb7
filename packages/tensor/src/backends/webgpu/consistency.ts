/**
 * Consistency harness: runs the same op on the CPU and on WebGPU from identical inputs and compares outputs (and
 * gradients of a weighted sum of the output through backward). Used by webgpu.test.ts; one case per WebGPU kernel.
 */
import type { DType } from '../../dtype.ts';
import { fromNumbers } from '../../dtype.ts';
import { tidy } from '../../memory.ts';
import type { Tensor } from '../../tensor.ts';
import { fromStorageArray } from '../../tensor.ts';
import { compareArrays } from '../../testing/compare.ts';
import { Generator } from '../../random.ts';

export interface InputSpec {
  shape: number[];
  dtype?: DType;
  /** 'normal' (default), 'positive' (0.2..2), 'int' (0..9), 'bool', or explicit values. */
  kind?: 'normal' | 'positive' | 'int' | 'bool' | 'unit' | number[];
  grad?: boolean;
}

export interface CaseResult {
  ok: boolean;
  detail: string;
}

function values(spec: InputSpec, g: Generator): number[] {
  const n = spec.shape.reduce((a, d) => a * d, 1);
  const k = spec.kind ?? 'normal';
  if (Array.isArray(k)) return k;
  return Array.from({ length: n }, () => {
    switch (k) {
      case 'normal':
        return g.normal();
      case 'positive':
        return 0.2 + 1.8 * g.random();
      case 'unit':
        return g.random();
      case 'int':
        return Math.floor(g.random() * 10);
      case 'bool':
        return g.random() < 0.5 ? 1 : 0;
    }
  });
}

/**
 * Runs `f` on both backends. Returns a failure description per mismatching output or gradient (empty when all agree).
 */
export async function consistent(
  specs: InputSpec[],
  f: (xs: Tensor[]) => Tensor | Tensor[],
  tol: { rtol?: number; atol?: number } = {},
  seed = 1,
): Promise<CaseResult> {
  const g = new Generator(seed);
  const vals = specs.map((s) => values(s, g));
  const results: Record<string, Float32Array | Float64Array | Int32Array | Uint8Array>[] = [];
  for (const backend of ['cpu', 'webgpu']) {
    const { outs, grads } = tidy(() => {
      const xs = specs.map((s, i) => {
        const t = fromStorageArray(fromNumbers(s.dtype ?? 'float32', vals[i]), s.shape, s.dtype ?? 'float32', { backend });
        if (s.grad) t.requiresGrad = true;
        return t;
      });
      const y = f(xs);
      const ys = Array.isArray(y) ? y : [y];
      const gs: Tensor[] = [];
      if (specs.some((s) => s.grad)) {
        let loss: Tensor | null = null;
        for (const o of ys) {
          if (!o.requiresGrad) continue;
          const w = fromStorageArray(
            fromNumbers('float32', Array.from({ length: o.numel }, (_, i) => Math.cos(i * 0.7) + 0.5)),
            o.shape,
            'float32',
            { backend },
          );
          const term = o.toFloat().mul(w).sum();
          loss = loss ? loss.add(term) : term;
        }
        loss?.backward();
        for (const x of xs) {
          if (x.requiresGrad && x.grad) gs.push(x.grad);
          x.grad = null; // keep the gradient alive when tidy disposes x
        }
      }
      return { outs: ys, grads: gs };
    });
    const r: Record<string, Float32Array | Float64Array | Int32Array | Uint8Array> = {};
    for (let i = 0; i < outs.length; i++) r[`out${i}`] = await outs[i].data();
    for (let i = 0; i < grads.length; i++) r[`grad${i}`] = await grads[i].data();
    results.push(r);
    for (const t of [...outs, ...grads]) t.dispose();
  }
  const bad: string[] = [];
  for (const k of Object.keys(results[0])) {
    if (!(k in results[1])) {
      bad.push(`${k} missing on webgpu`);
      continue;
    }
    const c = compareArrays(results[1][k], results[0][k], { rtol: tol.rtol ?? 1e-4, atol: tol.atol ?? 1e-5 });
    if (!c.ok) bad.push(`${k}: ${c.bad} bad, worst #${c.worst.index} webgpu ${c.worst.actual} vs cpu ${c.worst.expected}`);
  }
  return { ok: bad.length === 0, detail: bad.join('; ') };
}
