/**
 * cpu-wasm `conv2d` (float32; contract in ops/conv2d/conv2d-cpu.ts): per image and group, im2col in WASM (threads
 * split the channels) into a temporary block, then the SIMD GEMM writes W [Og, K] . cols [K, tile] straight into
 * the output rows (ldc = Ho*Wo, no copy); 1x1 stride-1 unpadded convolutions multiply the input directly. Tiles of
 * output rows keep the column block under COLS_BYTES. The gradient kernels stay readable (their GEMMs use the SIMD
 * GEMM through the hook).
 */
import type { View } from '../../../backend.ts';
import { isContiguous } from '../../../shape.ts';
import { addr, registerWasmKernel } from '../backend.ts';
import { gemmInto } from './gemm.ts';

const COLS_BYTES = 16 << 20;

const dense = (v: View): boolean => v.dtype === 'float32' && isContiguous(v.shape, v.strides);

registerWasmKernel('conv2d', (rt, [x, w, b], [y], attrs) => {
  if (!dense(x) || !dense(w) || !dense(y) || (b && !dense(b))) return false;
  const [sh, sw] = attrs.stride as number[];
  const [ph, pw] = attrs.padding as number[];
  const [dh, dw] = attrs.dilation as number[];
  const groups = attrs.groups as number;
  const [N, Ct, H, W] = x.shape;
  const [O, C, kh, kw] = w.shape;
  const [Ho, Wo] = [y.shape[2], y.shape[3]];
  const Og = O / groups;
  const K = C * kh * kw;
  const P = Ho * Wo;
  void Ct;
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0;
  const rows = Math.max(1, Math.min(Ho, Math.floor(COLS_BYTES / (K * Wo * 4))));
  const colsBytes = pointwise ? 0 : K * rows * Wo * 4;
  const cols = pointwise ? -1 : rt.heap.alloc(colsBytes);
  try {
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < groups; gi++) {
        const wg = addr(w) + gi * Og * K * 4;
        const yOff = addr(y) + (n * O + gi * Og) * P * 4;
        const xOff = addr(x) + (n * groups + gi) * C * H * W * 4;
        if (pointwise) {
          gemmInto(rt, { ptr: wg, rs: K * 4, cs: 4, t: 'f32' }, { ptr: xOff, rs: P * 4, cs: 4, t: 'f32' }, yOff, P * 4, Og, K, P);
          continue;
        }
        for (let oh0 = 0; oh0 < Ho; oh0 += rows) {
          const oh1 = Math.min(Ho, oh0 + rows);
          const tn = (oh1 - oh0) * Wo;
          const parts = Math.max(1, Math.min(rt.active, Math.floor((C * tn * kh * kw) / 65536)));
          const lists: number[][] = [];
          for (let p = 0; p < parts; p++) {
            const [c0, c1] = [Math.floor((C * p) / parts), Math.floor((C * (p + 1)) / parts)];
            if (c1 > c0) lists.push([xOff, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo, oh0, oh1, cols, c0, c1]);
          }
          rt.parallel('im2col', lists);
          gemmInto(rt, { ptr: wg, rs: K * 4, cs: 4, t: 'f32' }, { ptr: cols, rs: tn * 4, cs: 4, t: 'f32' }, yOff + oh0 * Wo * 4, P * 4, Og, K, tn);
        }
      }
      if (b) {
        for (let o = 0; o < O; o++) {
          const row = addr(y) + (n * O + o) * P * 4;
          rt.fns.bin_add(row, addr(b) + o * 4, row, P, 1);
        }
      }
    }
  } finally {
    if (cols >= 0) rt.heap.free(cols, colsBytes);
  }
  return true;
});
