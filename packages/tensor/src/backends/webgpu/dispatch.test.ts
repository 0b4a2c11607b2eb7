/**
 * The per-dispatch shortcuts of the runtime: a dispatch whose uniform words equal the previous one's shares its
 * arena slot, and setPipeline/setBindGroup are skipped when the pass already has that pipeline, bind group and
 * offset. Runs of ops that share some of these (pipeline only, uniforms only, everything) in one batch must still
 * give each op its own result.
 */
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../../testing/backends.ts';
import { tensor } from '../../tensor.ts';
import { tidy } from '../../memory.ts';
import type { Tensor } from '../../tensor.ts';
import { rt } from './backend.ts';
import '../../ops/index.ts'; // Tensor methods

const hasGpu = (await availableBackends()).includes('webgpu');

describe.skipIf(!hasGpu)('webgpu dispatch state reuse', () => {
  it('ops sharing pipeline, bind group or uniforms in one batch each get their own result', async () => {
    const vals = (n: number, k: number) => Array.from({ length: n }, (_, i) => i * k + 1);
    const [a, b, c] = [1, 2, 3].map((k) => tensor(vals(64, k), { backend: 'webgpu' }));
    const d = tensor(vals(60, 5), { backend: 'webgpu' });
    const ac = [1, 2, 3].map((k) => tensor(vals(64, k)));
    const dc = tensor(vals(60, 5));
    const r = rt();
    r.flush();
    const serial = r.serial;
    const cases: [string, () => Tensor, () => Tensor][] = [
      ['a+b', () => a.add(b), () => ac[0].add(ac[1])],
      ['a+b again (same pipeline, buffers except the output, uniforms)', () => a.add(b), () => ac[0].add(ac[1])],
      ['a+c (same uniforms, other buffers)', () => a.add(c), () => ac[0].add(ac[2])],
      ['d+d (same pipeline family, other uniforms)', () => d.add(d), () => dc.add(dc)],
      ['a*b (other pipeline, same uniforms as a+b)', () => a.mul(b), () => ac[0].mul(ac[1])],
      ['(a+b)*c then +a', () => tidy(() => a.add(b).mul(c).add(a)), () => ac[0].add(ac[1]).mul(ac[2]).add(ac[0])],
    ];
    const outs = cases.map(([, g]) => g());
    expect(r.serial).toBe(serial); // all recorded into one submission
    for (let i = 0; i < cases.length; i++) {
      expect([cases[i][0], Array.from(await outs[i].data())]).toEqual([cases[i][0], Array.from(await cases[i][2]().data())]);
    }
  });

  it('the same buffers with other uniforms rebind the uniform offset; equal uniforms share a slot', async () => {
    const r = rt();
    const code = `@group(0) @binding(0) var<storage, read_write> out0: array<f32>;
struct U { m: array<vec4<i32>, 1> };
@group(0) @binding(1) var<uniform> u: U;
@compute @workgroup_size(1)
fn main() { out0[u.m[0].x] = out0[u.m[0].x] + f32(u.m[0].y); }`;
    const p = r.pipeline(code, () => code);
    const buf = r.acquire(32);
    r.write(buf, new Float32Array(8));
    // same pipeline and buffers every time: only the uniform words (index, value) change, or not
    const steps = [[0, 7], [1, 9], [1, 9], [2, 5], [0, 100], [0, 100]];
    for (const [i, v] of steps) r.dispatch(p, [buf], new Int32Array([i, v, 0, 0]), [1]);
    const got = Array.from(new Float32Array(await r.read(buf, 32)));
    r.release(buf);
    expect(got).toEqual([207, 18, 5, 0, 0, 0, 0, 0]);
  });
});
