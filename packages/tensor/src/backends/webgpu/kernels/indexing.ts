/**
 * WebGPU indexing kernels (contracts in ops/indexing/gather.ts and index-select.ts): `gather`, `scatter_add`,
 * `index_select`, `index_add`. Out-of-range indices read 0 (gather, index_select) or are skipped (the adds): a GPU
 * kernel cannot throw. The adds run one thread per output element looping over the index, so duplicates accumulate
 * deterministically in index order (no float atomics).
 */
import type { View } from '../../../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { contiguousStrides } from '../../../shape.ts';
import type { Uniforms } from '../codegen.ts';
import { isFloatD, loadAs, storeFrom } from '../codegen.ts';
import { launch } from './launch.ts';
import { bufOf, chunkView, chunksOf } from '../backend.ts';

const UM = 'fn um(i: i32) -> i32 { return u.m[i / 4][i % 4]; }';
const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;
const ctOf = (v: View) => (isFloatD(v.dtype) ? 'f32' : 'i32');
const numelOf = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** Appends rank, dim and the shapes/strides; returns the base word of [shape..., a-strides..., b-strides...]. */
function meta(u: Uniforms, shape: readonly number[], ...strides: number[][]): number {
  const base = u.index;
  u.i(...shape);
  for (const s of strides) u.i(...s);
  return base;
}

registerKernel('webgpu', 'gather', ([x, index], [out], attrs) => {
  const dim = attrs.dim;
  const R = index.shape.length;
  launch([x, index], [out], numelOf(index.shape), (u) => {
    const m = meta(u, index.shape, contiguousStrides(x.shape));
    u.i(x.shape[dim]);
    return `var rem = i32(idx); var xo = 0; var k = 0;
  for (var d = ${R - 1}; d >= 0; d--) {
    let c = rem % um(${m} + d); rem = rem / um(${m} + d);
    if (d == ${dim}) { k = in1[b1 + i32(idx)]; } else { xo += c * um(${m + R} + d); }
  }
  let size = ${w(m + 2 * R)};
  var v = ${ctOf(x)}(0);
  if (k >= 0 && k < size) { v = ${loadAs(`in0[b0 + xo + k * um(${m + R + dim})]`, x.dtype, ctOf(x))}; }
  out0[b2 + i32(idx)] = ${storeFrom('v', ctOf(x), out.dtype)};`;
  }, { decl: UM });
});

registerKernel('webgpu', 'scatter_add', ([x, index, src], [out], attrs) => {
  const dim = attrs.dim;
  const R = x.shape.length;
  const ct = ctOf(x);
  launch([x, index, src], [out], numelOf(x.shape), (u) => {
    const m = meta(u, x.shape, [...index.shape], contiguousStrides(index.shape), contiguousStrides(src.shape));
    return `var rem = i32(idx); var io = 0; var so = 0; var j = 0; var inside = true;
  for (var d = ${R - 1}; d >= 0; d--) {
    let c = rem % um(${m} + d); rem = rem / um(${m} + d);
    if (d == ${dim}) { j = c; } else {
      if (c >= um(${m + R} + d)) { inside = false; }
      io += c * um(${m + 2 * R} + d); so += c * um(${m + 3 * R} + d);
    }
  }
  var acc = ${loadAs('in0[b0 + i32(idx)]', x.dtype, ct)};
  if (inside) {
    for (var i = 0; i < um(${m + R + dim}); i++) {
      if (in1[b1 + io + i * um(${m + 2 * R + dim})] == j) { acc += ${loadAs(`in2[b2 + so + i * um(${m + 3 * R + dim})]`, src.dtype, ct)}; }
    }
  }
  out0[b3 + i32(idx)] = ${storeFrom('acc', ct, out.dtype)};`;
  }, { decl: UM });
});

function split3(x: View, dim: number): [number, number, number] {
  return [numelOf(x.shape.slice(0, dim)), x.shape[dim], numelOf(x.shape.slice(dim + 1))];
}

registerKernel('webgpu', 'index_select', ([x, index], [out], attrs) => {
  const [pre, S, post] = split3(x, attrs.dim);
  const K = index.shape[0];
  const ct = ctOf(x);
  // A split x (an embedding table above the binding limit) is read chunk by chunk; each pass writes the outputs
  // whose source lies in its chunk (the first pass also writes the zeros of out-of-range indices).
  const chunks = chunksOf(x) ?? [{ buf: bufOf(x), start: 0, count: 2 ** 31 - 1 }];
  chunks.forEach((c, ci) => {
    const xv = chunksOf(x) ? chunkView(x, c, x.shape, x.offset) : x;
    launch([xv, index], [out], pre * K * post, (u) => {
      const m = u.index;
      u.i(S, K, post, c.start, c.count, ci === 0 ? 1 : 0);
      return `let S = ${w(m)}; let K = ${w(m + 1)}; let post = ${w(m + 2)};
  let q = i32(idx) % post; let k = (i32(idx) / post) % K; let p = i32(idx) / (post * K);
  let s = in1[b1 + k];
  if (s >= 0 && s < S) {
    let e = b0 + (p * S + s) * post + q - ${w(m + 3)};
    if (e >= 0 && e < ${w(m + 4)}) { out0[b2 + i32(idx)] = ${storeFrom(loadAs('in0[e]', x.dtype, ct), ct, out.dtype)}; }
  } else if (${w(m + 5)} == 1) {
    out0[b2 + i32(idx)] = ${storeFrom(`${ct}(0)`, ct, out.dtype)};
  }`;
    });
  });
});

registerKernel('webgpu', 'index_add', ([x, index, src], [out], attrs) => {
  const [pre, S, post] = split3(x, attrs.dim);
  const K = index.shape[0];
  const ct = ctOf(x);
  launch([x, index, src], [out], pre * S * post, (u) => {
    const m = u.index;
    u.i(S, K, post);
    return `let S = ${w(m)}; let K = ${w(m + 1)}; let post = ${w(m + 2)};
  let q = i32(idx) % post; let j = (i32(idx) / post) % S; let p = i32(idx) / (post * S);
  var acc = ${loadAs('in0[b0 + i32(idx)]', x.dtype, ct)};
  for (var k = 0; k < K; k++) {
    if (in1[b1 + k] == j) { acc += ${loadAs('in2[b2 + (p * K + k) * post + q]', src.dtype, ct)}; }
  }
  out0[b3 + i32(idx)] = ${storeFrom('acc', ct, out.dtype)};`;
  });
});
