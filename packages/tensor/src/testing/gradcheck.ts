/**
 * Finite-difference gradient checks in float64 on the CPU: compares backward() with central differences of
 * sum(f(inputs) * w) for a fixed random weighting w (which catches transposed gradients a plain sum would miss).
 */
import type { Tensor } from '../tensor.ts';
import { fromStorageArray } from '../tensor.ts';
import { Generator } from '../random.ts';
import { noGrad } from '../autograd/engine.ts';
import { compareArrays } from './compare.ts';

export interface GradcheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /** Which inputs to check (default: every float input). */
  wrt?: number[];
}

export interface GradcheckResult {
  ok: boolean;
  /** Per checked input: max abs error between analytic and numeric gradients. */
  maxAbsErr: number[];
  message: string;
}

/** Runs the check; inputs must be float64 CPU tensors. */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-7;
  const wrt = opts.wrt ?? inputs.map((_, i) => i).filter((i) => inputs[i].dtype === 'float64');
  const gen = new Generator(opts.seed ?? 1234);
  for (const x of inputs) if (x.dtype === 'float64') x.requiresGrad = false;
  const leaves = inputs.map((x) => {
    const l = fromStorageArray(Float64Array.from(x.dataSync()), x.shape, x.dtype === 'float64' ? 'float64' : x.dtype, { backend: x.backend });
    return l;
  });
  for (const i of wrt) leaves[i].requiresGrad = true;
  const out0 = f(...leaves);
  const w = fromStorageArray(Float64Array.from({ length: out0.numel }, () => gen.normal()), out0.shape, 'float64');
  const loss = out0.mul(w).sum();
  loss.backward();
  const analytic = wrt.map((i) => leaves[i].grad?.dataSync() ?? new Float64Array(leaves[i].numel));
  const numeric = wrt.map((i) => {
    const base = leaves[i].dataSync() as Float64Array;
    const g = new Float64Array(base.length);
    for (let k = 0; k < base.length; k++) {
      const evalAt = (v: number) =>
        noGrad(() => {
          const data = Float64Array.from(base);
          data[k] = v;
          const xs = leaves.map((l, j) => (j === i ? fromStorageArray(data, l.shape, 'float64') : l));
          const y = f(...xs).mul(w).sum();
          const r = y.dataSync()[0];
          return r;
        });
      g[k] = (evalAt(base[k] + eps) - evalAt(base[k] - eps)) / (2 * eps);
    }
    return g;
  });
  const errs: number[] = [];
  const msgs: string[] = [];
  let ok = true;
  wrt.forEach((i, j) => {
    const r = compareArrays(analytic[j], numeric[j], { rtol, atol });
    errs.push(r.maxAbsErr);
    if (!r.ok) {
      ok = false;
      msgs.push(`input ${i}: ${r.bad} elements differ, worst at ${r.worst.index}: analytic ${r.worst.actual} vs numeric ${r.worst.expected}`);
    }
  });
  return { ok, maxAbsErr: errs, message: msgs.join('; ') };
}
