/**
 * Backward of the binary ops builds only the operand gradients that are used (an operand without requiresGrad, or a
 * number, gets none) and sums broadcast gradients down to each operand's shape; checked by finite differences.
 */
import { describe, expect, it } from 'vitest';
import { Generator, randn, type Tensor } from '@segllm/tensor';
import { gradcheck } from '@segllm/tensor/testing';

const f64 = (shape: number[], seed: number) => randn(shape, { generator: new Generator(seed), dtype: 'float64' });

describe('binary backward', () => {
  const cases: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['mul', (a, b) => a.mul(b)],
    ['div', (a, b) => a.div(b.abs().add(1))],
    ['sub', (a, b) => a.sub(b)],
    ['pow', (a, b) => a.abs().add(0.5).pow(b)],
  ];
  for (const [name, f] of cases) {
    it(`${name}: broadcast row/column operands, each alone or both requiring grad`, () => {
      for (const wrt of [[0], [1], [0, 1]]) {
        const r = gradcheck(f, [f64([3, 4], 1), f64([4], 2)], { wrt });
        expect(r.ok, `${name} wrt [${wrt.join(", ")}]: ${r.message}`).toBe(true);
        const c = gradcheck(f, [f64([3, 1], 3), f64([3, 4], 4)], { wrt });
        expect(c.ok, `${name} wrt [${wrt.join(", ")}]: ${c.message}`).toBe(true);
      }
    });
  }

  it('gives no gradient to an operand that does not require one, and scalars broadcast', () => {
    const x = f64([2, 3], 5);
    const c = f64([3], 6);
    x.requiresGrad = true;
    x.mul(c).div(c.abs().add(1)).sub(c).mul(2).sum().backward();
    expect(c.grad).toBeFalsy();
    const cs = c.dataSync();
    const want = Array.from({ length: 6 }, (_, i) => (2 * cs[i % 3]) / (Math.abs(cs[i % 3]) + 1));
    Array.from(x.grad!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });
});
