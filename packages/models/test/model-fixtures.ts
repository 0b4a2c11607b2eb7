/** Paths and helpers for the model parity tests (fixtures in ./fixtures/models, see LICENSE-NOTES.md there). */
import { fileURLToPath } from 'node:url';
import { assertClose, loadGoldens } from '@segllm/tensor/testing';
import type { Goldens, Tolerance } from '@segllm/tensor/testing';
import type { Tensor } from '@segllm/tensor';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/models/${name}`, import.meta.url));

export function goldens(name: string, backend: string): Promise<Goldens> {
  return loadGoldens(fixture(`${name}.io.safetensors`), backend);
}

/** Outputs at ~1e-5 relative, gradients at ~1e-4. */
export const OUT_TOL: Tolerance = { rtol: 1e-5, atol: 1e-5 };
export const GRAD_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/**
 * Elementwise |a - e| <= atol + rtol * |e|, where atol is at least 1e-6 x the reference's largest magnitude: a gradient
 * summed over many positions (a conv weight's, say) carries float32 rounding on that scale, which near-zero elements
 * cannot meet with a fixed absolute floor (another summation order, e.g. split-K on a GPU, moves them by ~1e-7 x max).
 */
export async function expectClose(actual: Tensor, expected: Tensor, tol: Tolerance, label: string): Promise<void> {
  let scale = 0;
  for (const v of await expected.data()) scale = Math.max(scale, Math.abs(v));
  await assertClose(actual, expected, { ...tol, atol: Math.max(tol.atol ?? 0, 1e-6 * scale) }, label);
}
