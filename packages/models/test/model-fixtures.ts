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

export async function expectClose(actual: Tensor, expected: Tensor, tol: Tolerance, label: string): Promise<void> {
  await assertClose(actual, expected, tol, label);
}

/**
 * Runs a test body; on a non-CPU backend that lacks a kernel the body needs (UnsupportedError, while the WebGPU
 * kernels are being written) the test is skipped with the reason instead of failing. The CPU never skips.
 */
export async function unlessUnsupported(backend: string, ctx: { skip: (note?: string) => never }, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (backend !== 'cpu' && e instanceof Error && e.name === 'UnsupportedError') ctx.skip(e.message);
    throw e;
  }
}
