/**
 * WebGPU `sort` (contract in ops/sort/sort.ts): a stable rank sort, one thread per element: its rank is the number
 * of row elements ordered before it (NaN largest; ties by index), and ranks < k are written. O(N^2) per row, fully
 * parallel: fine for the row lengths of topk/sort in the models; a bitonic network would be the next step.
 */
import { registerKernel } from '../../../kernels.ts';
import { isFloatD, loadAs, storeFrom } from '../codegen.ts';
import { launch } from './launch.ts';

registerKernel('webgpu', 'sort', ([x], [values, indices], attrs) => {
  const desc = attrs.descending;
  const k = attrs.k;
  const [R, N] = x.shape;
  const ct = isFloatD(x.dtype) ? 'f32' : 'i32';
  const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;
  // before(a, ia, b, ib): a sorts before b
  const nan = (v: string) => (ct === 'f32' ? `isnan_f(${v})` : 'false');
  const before = desc
    ? `((${nan('a')} && !${nan('b')}) || (!${nan('a')} && !${nan('b')} && a > b) || (((a == b) || (${nan('a')} && ${nan('b')})) && ia < ib))`
    : `((!${nan('a')} && ${nan('b')}) || (!${nan('a')} && !${nan('b')} && a < b) || (((a == b) || (${nan('a')} && ${nan('b')})) && ia < ib))`;
  launch([x], [values, indices], R * N, (u) => {
    const m = u.index;
    u.i(N, k);
    return `let N = ${w(m)}; let K = ${w(m + 1)};
  let r = i32(idx) / N; let ib = i32(idx) % N;
  let b = ${loadAs('in0[b0 + i32(idx)]', x.dtype, ct)};
  var rank = 0;
  for (var ia = 0; ia < N; ia++) {
    let a = ${loadAs('in0[b0 + r * N + ia]', x.dtype, ct)};
    if (${before}) { rank++; }
  }
  if (rank < K) {
    out0[b1 + r * K + rank] = ${storeFrom('b', ct, values.dtype)};
    out1[b2 + r * K + rank] = ib;
  }`;
  });
});
