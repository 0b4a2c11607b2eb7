/**
 * Every elementwise table row's VJP on its own, on every backend: the gradient the backend computes through the
 * row's `vjp` must equal the derivative of the row's CPU form taken by central differences in float64 (so a wrong
 * VJP fails here even though all backends run the same one). Inputs span the extremes each row allows: large and
 * tiny magnitudes, negatives, and points close to (not on) where the function or its derivative blows up.
 */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import { tensor, type Tensor } from '../../tensor.ts';
import { tidy } from '../../memory.ts';
import { UNARY, BINARY, type UnaryName, type BinaryName, type UnaryRow, type BinaryRow } from './table.ts';
import { binary, unary } from './elementwise.ts';
import '../../index.ts'; // every op and the Tensor methods

/** Points valid for most rows: float32-safe for exp-like forms, away from 0 and from integers / half-integers. */
const WIDE = [-29.6, -7.3, -1.3, -0.21, -1e-3, 2e-4, 0.37, 1.7, 6.6, 29.7];
const POSITIVE = [1e-4, 3e-3, 0.05, 0.6, 1.3, 7.7, 80, 3e3, 1e5];

/** Per row: the points (and the parameters p, q) its VJP is checked at. */
const UNARY_POINTS: Partial<Record<UnaryName, { x: number[]; p?: number; q?: number }>> = {
  exp: { x: [-60, -20, -3.1, -1e-4, 1e-3, 0.7, 5.5, 20, 60] },
  expm1: { x: [-20, -2.2, -1e-3, -1e-6, 1e-6, 2e-3, 0.9, 12, 40] },
  log: { x: POSITIVE },
  log1p: { x: [-0.999, -0.5, -1e-5, 1e-6, 0.3, 4.1, 900, 1e5] },
  sqrt: { x: POSITIVE },
  rsqrt: { x: POSITIVE },
  reciprocal: { x: [-1e3, -2.5, -0.03, -1e-3, 1e-3, 0.04, 3.3, 2e3] },
  sin: { x: [-10.2, -3.1, -1e-4, 0.5, 1.57, 3.14, 9.9] },
  cos: { x: [-10.2, -3.1, -1e-4, 0.5, 1.57, 3.14, 9.9] },
  pow_scalar: { x: POSITIVE.slice(0, -2), p: 2.5 },
  rpow_scalar: { x: [-30, -3.3, -1e-3, 0.2, 4.4, 30], p: 1.7 },
  clamp: { x: [-30, -0.9, -0.51, -0.49, 0.1, 0.69, 0.71, 30], p: -0.5, q: 0.7 },
  nan_to_num: { x: WIDE, p: 3 },
};

/** Per binary row: [a, b] pairs (defaults pair WIDE with a shifted copy, so a != b everywhere). */
const BINARY_POINTS: Partial<Record<BinaryName, [number, number][]>> = {
  div: [[3, 1e-3], [-2, -0.05], [1e4, 7], [1e-4, -3.3], [-30, 2e3]],
  pow: [[1e-3, 2.5], [0.4, -1.7], [1.3, 0.5], [7.7, 3.1], [80, -0.6], [2.2, 1e-4]],
  atan2: [[1e-3, 1e-3], [-2, 0.01], [0.01, -2], [30, -30], [-5e3, 7]],
  remainder: [[7.3, 2.1], [-7.3, 2.1], [7.3, -2.1], [0.2, 1e3], [1e3, 3.7]],
  maximum: [[1, 2], [-3, -3.5], [1e-4, -1e-4], [30, -30]],
  minimum: [[1, 2], [-3, -3.5], [1e-4, -1e-4], [30, -30]],
};

/** Central difference of f at x in float64, with a step relative to |x| (absolute near 0, against rounding). */
function derivative(f: (x: number) => number, x: number): number {
  const h = 1e-6 * Math.max(Math.abs(x), 0.1);
  return (f(x + h) - f(x - h)) / (2 * h);
}

/**
 * |got - want| <= rtol |want| + atol elementwise. The absolute floor covers float32 cancellation in correct VJPs
 * (1 - tanh(x)^2 near saturation loses the digits below 6e-8).
 */
function expectClose(got: ArrayLike<number>, want: number[], rtol: number, atol: number, label: string): void {
  for (let i = 0; i < want.length; i++) {
    const tol = rtol * Math.abs(want[i]) + atol;
    expect(Math.abs(got[i] - want[i]), `${label} at element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(tol);
  }
}

/** Runs f on a leaf and returns the gradient of sum(f(x) * w) w.r.t. each input. */
async function gradsOf(xs: number[][], backend: string, dtype: 'float32' | 'float64', f: (...t: Tensor[]) => Tensor, w: number[]): Promise<Float32Array[] | Float64Array[]> {
  const leaves = xs.map((x) => tensor(x, { backend, dtype }));
  for (const l of leaves) l.requiresGrad = true;
  tidy(() => f(...leaves).mul(tensor(w, { backend, dtype })).sum()).backward();
  const out = await Promise.all(leaves.map(async (l) => Float64Array.from(await l.grad!.data())));
  for (const l of leaves) l.dispose();
  return out;
}

const weights = (n: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 7) % 5) / 4); // 1 .. 2

describe.each(await availableBackends())('elementwise VJPs against finite differences on %s', (backend) => {
  // WebGPU has no float64: it runs the VJPs in float32, checked at the float32-rounded points.
  const dtype = backend === 'webgpu' ? 'float32' : 'float64';
  const [rtol, atol] = dtype === 'float32' ? [3e-3, 1e-6] : [1e-5, 1e-9];
  const at = (v: number) => (dtype === 'float32' ? Math.fround(v) : v);

  const unaryRows = (Object.keys(UNARY) as UnaryName[]).filter((n) => (UNARY[n] as UnaryRow).vjp);
  it.each(unaryRows)('unary:%s', async (name) => {
    const row = UNARY[name] as UnaryRow;
    const { x: raw, p = 0, q = 0 } = UNARY_POINTS[name] ?? { x: WIDE };
    const x = raw.map(at);
    const w = weights(x.length);
    const [g] = await gradsOf([x], backend, dtype, (t) => unary(name, t, p, q), w);
    expectClose(g, x.map((v, i) => w[i] * derivative((u) => row.cpu(u, p, q), v)), rtol, atol, `unary:${name}`);
  });

  const binaryRows = (Object.keys(BINARY) as BinaryName[]).filter((n) => (BINARY[n] as BinaryRow).vjp);
  it.each(binaryRows)('binary:%s', async (name) => {
    const row = BINARY[name] as BinaryRow;
    const pairs = BINARY_POINTS[name] ?? WIDE.map((a, i) => [a, WIDE[(i + 3) % WIDE.length] * 0.9] as [number, number]);
    const [a, b] = [pairs.map((p) => at(p[0])), pairs.map((p) => at(p[1]))];
    const w = weights(a.length);
    const [ga, gb] = await gradsOf([a, b], backend, dtype, (ta, tb) => binary(name, ta, tb), w);
    expectClose(ga, a.map((v, i) => w[i] * derivative((u) => row.cpu(u, b[i]), v)), rtol, atol, `binary:${name} d/da`);
    expectClose(gb, b.map((v, i) => w[i] * derivative((u) => row.cpu(a[i], u), v)), rtol, atol, `binary:${name} d/db`);
  });
});
