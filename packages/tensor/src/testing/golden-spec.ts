/**
 * Table-driven parity against PyTorch goldens: a row names its golden inputs, computes outputs (and a scalar `loss`
 * reproducing the reference's gradient weighting), and lists the golden outputs and gradients to match. Rows take
 * every size from the file (tensor shapes, or `params` read to the host), so a file with the same case names and
 * other shapes runs; a case that cannot run (missing tensors, a thrown error, a shape mismatch) is a failed result
 * with `error` set, never an exception, so that runners can report it and go on.
 */
import type { Tensor } from '../tensor.ts';
import { tidy } from '../memory.ts';
import { noGrad } from '../autograd/engine.ts';
import { alias } from '../ops/copy/copy.ts';
import type { Goldens } from './goldens.ts';
import { compareArrays } from './compare.ts';
import { fmtShape, shapesEqual } from '../shape.ts';
import type { KernelName } from '../kernels.ts';

export interface GoldenRow {
  /** The case name: the golden key prefix, e.g. 'act.gelu_erf'. */
  case: string;
  /** Local input name -> golden key. */
  inputs: Record<string, string>;
  /** Kernel names the row needs (the runner skips the row where the backend lacks one). */
  kernels: string[];
  /** Local name -> golden key of integer tensors the row needs as host numbers (e.g. spatial shapes). */
  params?: Record<string, string>;
  /** Outputs by name; include `loss` (a scalar) when `grads` is set. `p` holds the `params` values, flattened. */
  run(x: Record<string, Tensor>, g: Goldens, p: Record<string, number[]>): Record<string, Tensor>;
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
  /** Why the case failed without a numeric comparison (missing tensors, an exception, a shape mismatch). */
  error?: string;
  maxAbsErr: number;
  maxRelErr: number;
  ok: boolean;
  outputs: Record<string, { maxAbsErr: number; maxRelErr: number; ok: boolean }>;
  grads: Record<string, { maxAbsErr: number; maxRelErr: number; ok: boolean }>;
}

/** Every golden key a row reads. */
export function goldenKeys(row: GoldenRow): string[] {
  return [...Object.values(row.inputs), ...Object.values(row.params ?? {}), ...Object.values(row.expect), ...Object.values(row.grads ?? {})];
}

/** The kernels of `row` that `backend` lacks in float32 (the row is skipped there). */
export function missingKernels(row: GoldenRow, backend: { supports(op: KernelName, dtype: 'float32'): boolean }): string[] {
  return row.kernels.filter((k) => !backend.supports(k as KernelName, 'float32'));
}

export async function runGoldenCase(row: GoldenRow, gold: Goldens): Promise<GoldenCaseResult> {
  const res: GoldenCaseResult = { case: row.case, maxAbsErr: 0, maxRelErr: 0, ok: true, outputs: {}, grads: {} };
  const absent = goldenKeys(row).filter((k) => !gold.has(k));
  if (absent.length) return { ...res, ok: false, error: `the file lacks ${absent.join(', ')}` };
  const missing = missingKernels(row, gold.get(Object.values(row.inputs)[0]).backend);
  if (missing.length) return { ...res, skipped: `${gold.get(Object.values(row.inputs)[0]).backend.name} lacks ${missing.join(', ')}` };
  try {
    return await compareCase(row, gold, res);
  } catch (e) {
    return { ...res, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

async function compareCase(row: GoldenRow, gold: Goldens, res: GoldenCaseResult): Promise<GoldenCaseResult> {
  const p: Record<string, number[]> = {};
  for (const [k, key] of Object.entries(row.params ?? {})) p[k] = Array.from(await gold.get(key).data(), Number);
  const { outs, grads } = tidy(() => {
    const xs: Record<string, Tensor> = {};
    for (const [k, key] of Object.entries(row.inputs)) {
      const t = noGrad(() => alias(gold.get(key)));
      if (row.grads && k in row.grads) t.requiresGrad = true;
      xs[k] = t;
    }
    const o = row.run(xs, gold, p);
    const gs: Record<string, Tensor> = {};
    if (row.grads) {
      o.loss.backward();
      for (const k of Object.keys(row.grads)) gs[k] = xs[k].grad!;
      for (const k of Object.keys(row.grads)) xs[k].grad = null;
    }
    return { outs: o, grads: gs };
  });
  const check = async (t: Tensor, key: string, rtol: number, atol: number) => {
    const want = gold.get(key);
    if (!shapesEqual(t.shape, want.shape)) {
      res.ok = false;
      res.error = `${key}: shape ${fmtShape(t.shape)} vs expected ${fmtShape(want.shape)}`;
      return { maxAbsErr: Infinity, maxRelErr: Infinity, ok: false };
    }
    const r = compareArrays(await t.data(), await want.data(), { rtol, atol });
    res.maxAbsErr = Math.max(res.maxAbsErr, r.maxAbsErr);
    res.maxRelErr = Math.max(res.maxRelErr, r.maxRelErr);
    if (!r.ok) res.ok = false;
    return { maxAbsErr: r.maxAbsErr, maxRelErr: r.maxRelErr, ok: r.ok };
  };
  try {
    for (const [name, key] of Object.entries(row.expect)) res.outputs[name] = await check(outs[name], key, row.rtol ?? 1e-5, row.atol ?? 1e-5);
    for (const [name, key] of Object.entries(row.grads ?? {})) res.grads[name] = await check(grads[name], key, row.gradRtol ?? 1e-4, row.gradAtol ?? 1e-5);
  } finally {
    for (const t of [...Object.values(outs), ...Object.values(grads)]) t.dispose();
  }
  return res;
}
