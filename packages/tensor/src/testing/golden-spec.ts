/**
 * Table-driven parity against PyTorch goldens: a row names its golden inputs, computes outputs (and a scalar `loss`
 * reproducing the reference's gradient weighting), and lists the golden outputs and gradients to match.
 */
import type { Tensor } from '../tensor.ts';
import { tidy } from '../memory.ts';
import { noGrad } from '../autograd/engine.ts';
import { alias } from '../ops/copy/copy.ts';
import type { Goldens } from './goldens.ts';
import { compareArrays } from './compare.ts';
import type { KernelName } from '../kernels.ts';

export interface GoldenRow {
  /** The case name: the golden key prefix, e.g. 'act.gelu_erf'. */
  case: string;
  /** Local input name -> golden key. */
  inputs: Record<string, string>;
  /** Kernel names the row needs (the runner skips the row where the backend lacks one). */
  kernels: string[];
  /** Outputs by name; include `loss` (a scalar) when `grads` is set. */
  run(x: Record<string, Tensor>, g: Goldens): Record<string, Tensor>;
  /** Output name -> golden key. */
  expect: Record<string, string>;
  /** Input name -> golden key of d(loss)/d(input). */
  grads?: Record<string, string>;
  rtol?: number;
  atol?: number;
  gradRtol?: number;
  gradAtol?: number;
}

export interface GoldenCaseResult {
  case: string;
  skipped?: string;
  maxAbsErr: number;
  maxRelErr: number;
  ok: boolean;
  outputs: Record<string, { maxAbsErr: number; maxRelErr: number; ok: boolean }>;
  grads: Record<string, { maxAbsErr: number; maxRelErr: number; ok: boolean }>;
}

export async function runGoldenCase(row: GoldenRow, gold: Goldens): Promise<GoldenCaseResult> {
  const first = gold.get(Object.values(row.inputs)[0]);
  const backend = first.backend;
  const missing = row.kernels.filter((k) => !backend.supports(k as KernelName, 'float32'));
  const res: GoldenCaseResult = { case: row.case, maxAbsErr: 0, maxRelErr: 0, ok: true, outputs: {}, grads: {} };
  if (missing.length) return { ...res, skipped: `${backend.name} lacks ${missing.join(', ')}` };
  const { outs, grads } = tidy(() => {
    const xs: Record<string, Tensor> = {};
    for (const [k, key] of Object.entries(row.inputs)) {
      const t = noGrad(() => alias(gold.get(key)));
      if (row.grads && k in row.grads) t.requiresGrad = true;
      xs[k] = t;
    }
    const o = row.run(xs, gold);
    const gs: Record<string, Tensor> = {};
    if (row.grads) {
      o.loss.backward();
      for (const k of Object.keys(row.grads)) gs[k] = xs[k].grad!;
      for (const k of Object.keys(row.grads)) xs[k].grad = null;
    }
    return { outs: o, grads: gs };
  });
  const check = async (t: Tensor, key: string, rtol: number, atol: number) => {
    const r = compareArrays(await t.data(), await gold.get(key).data(), { rtol, atol });
    res.maxAbsErr = Math.max(res.maxAbsErr, r.maxAbsErr);
    res.maxRelErr = Math.max(res.maxRelErr, r.maxRelErr);
    if (!r.ok) res.ok = false;
    return { maxAbsErr: r.maxAbsErr, maxRelErr: r.maxRelErr, ok: r.ok };
  };
  for (const [name, key] of Object.entries(row.expect)) res.outputs[name] = await check(outs[name], key, row.rtol ?? 1e-5, row.atol ?? 1e-5);
  for (const [name, key] of Object.entries(row.grads ?? {})) res.grads[name] = await check(grads[name], key, row.gradRtol ?? 1e-4, row.gradAtol ?? 1e-5);
  for (const t of [...Object.values(outs), ...Object.values(grads)]) t.dispose();
  return res;
}
