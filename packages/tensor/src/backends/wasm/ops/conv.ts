/**
 * cpu-wasm `conv2d` (float32; contract in ops/conv2d/conv2d-cpu.ts): per image and group, im2col in WASM (threads
 * split the channels) into a temporary block, then the SIMD GEMM writes W [Og, K] . cols [K, tile] straight into
 * the output rows (ldc = Ho*Wo, no copy); 1x1 stride-1 unpadded convolutions multiply the input directly. Tiles of
 * output rows keep the column block under COLS_BYTES.
 * `conv2d_grad_input`: per image, group and row tile, cols [K, tile] = W^T . gy (W read transposed in place, gy
 * rows read with their stride), then col2im in WASM adds them into gx. `conv2d_grad_weight`: gw [Og, K] summed over
 * images and tiles of gy [Og, tile] . im2col(x)^T (the first product written in place, later ones added).
 */
import type { View } from '../../../backend.ts';
import { isContiguous } from '../../../shape.ts';
import { addr } from '../backend.ts';
import { registerKernel } from '../../../kernels.ts';
import { gemmInto, type Operand } from './gemm.ts';
import type { WasmRuntime } from '../runtime.ts';

const COLS_BYTES = 16 << 20;
/** Smallest chunk of a parallel im2col/col2im (elements of the column block). */
const MIN_COLS_CHUNK = 32768;

const dense = (v: View): boolean => v.dtype === 'float32' && isContiguous(v.shape, v.strides);

interface Geom {
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; groups: number;
  C: number; H: number; W: number; kh: number; kw: number; Ho: number; Wo: number; Og: number; K: number; P: number;
  pointwise: boolean; rows: number;
}

function geom(x: View, w: View, y: View, attrs: Record<string, unknown>): Geom {
  const [sh, sw] = attrs.stride as number[];
  const [ph, pw] = attrs.padding as number[];
  const [dh, dw] = attrs.dilation as number[];
  const groups = attrs.groups as number;
  const [H, W] = [x.shape[2], x.shape[3]];
  const [O, C, kh, kw] = w.shape;
  const [Ho, Wo] = [y.shape[2], y.shape[3]];
  const K = C * kh * kw;
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0;
  const rows = Math.max(1, Math.min(Ho, Math.floor(COLS_BYTES / Math.max(1, K * Wo * 4))));
  return { sh, sw, ph, pw, dh, dw, groups, C, H, W, kh, kw, Ho, Wo, Og: O / groups, K, P: Ho * Wo, pointwise, rows };
}

/** im2col or col2im of output rows [oh0, oh1), split over channels across threads. */
function cols(rt: WasmRuntime, fn: 'im2col' | 'col2im', g: Geom, src: number, oh0: number, oh1: number, dst: number): void {
  const tn = (oh1 - oh0) * g.Wo;
  const chans = rt.split(g.C, 1, Math.ceil(MIN_COLS_CHUNK / (tn * g.kh * g.kw)));
  const lists: number[][] = [];
  for (let p = 0; p + 1 < chans.length; p++) {
    const [c0, c1] = [chans[p], chans[p + 1]];
    if (c1 > c0) lists.push([src, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.Wo, oh0, oh1, dst, c0, c1]);
  }
  rt.parallel(fn, lists);
}

const f32op = (ptr: number, rs: number, cs: number): Operand => ({ ptr, rs, cs, t: 'f32' });

registerKernel('cpu-wasm', 'conv2d_grad_input', (rt, [gy, w], [gx], attrs) => {
  if (!dense(gy) || !dense(w) || !dense(gx)) return false;
  const g = geom(gx, w, gy, attrs);
  const [N, O] = [gy.shape[0], gy.shape[1]];
  const HW = g.H * g.W;
  const colsBytes = g.pointwise ? 0 : g.K * g.rows * g.Wo * 4;
  const buf = g.pointwise ? -1 : rt.heap.alloc(colsBytes);
  try {
    if (!g.pointwise) rt.f32().fill(0, addr(gx) / 4, addr(gx) / 4 + N * g.groups * g.C * HW);
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < g.groups; gi++) {
        const wT = f32op(addr(w) + gi * g.Og * g.K * 4, 4, g.K * 4); // [K, Og] view of W [Og, K]
        const gyOff = addr(gy) + (n * O + gi * g.Og) * g.P * 4;
        const xOff = addr(gx) + (n * g.groups + gi) * g.C * HW * 4;
        if (g.pointwise) {
          gemmInto(rt, wT, f32op(gyOff, g.P * 4, 4), xOff, g.P * 4, g.K, g.Og, g.P);
          continue;
        }
        for (let oh0 = 0; oh0 < g.Ho; oh0 += g.rows) {
          const oh1 = Math.min(g.Ho, oh0 + g.rows);
          const tn = (oh1 - oh0) * g.Wo;
          gemmInto(rt, wT, f32op(gyOff + oh0 * g.Wo * 4, g.P * 4, 4), buf, tn * 4, g.K, g.Og, tn);
          cols(rt, 'col2im', g, buf, oh0, oh1, xOff);
        }
      }
    }
  } finally {
    if (buf >= 0) rt.heap.free(buf, colsBytes);
  }
  return true;
});

registerKernel('cpu-wasm', 'conv2d_grad_weight', (rt, [gy, x], [gw], attrs) => {
  if (!dense(gy) || !dense(x) || !dense(gw)) return false;
  const g = geom(x, gw, gy, attrs);
  const [N, O] = [gy.shape[0], gy.shape[1]];
  const HW = g.H * g.W;
  const colsBytes = g.pointwise ? 0 : g.K * g.rows * g.Wo * 4;
  const tmpBytes = g.Og * g.K * 4;
  const buf = g.pointwise ? -1 : rt.heap.alloc(colsBytes);
  const tmp = rt.heap.alloc(tmpBytes);
  try {
    for (let gi = 0; gi < g.groups; gi++) {
      const gwOff = addr(gw) + gi * g.Og * g.K * 4;
      let first = true;
      const acc = (A: Operand, B: Operand, tn: number): void => {
        gemmInto(rt, A, B, first ? gwOff : tmp, g.K * 4, g.Og, tn, g.K);
        if (!first) rt.fns.bin_add(gwOff, tmp, gwOff, g.Og * g.K, 0);
        first = false;
      };
      for (let n = 0; n < N; n++) {
        const gyOff = addr(gy) + (n * O + gi * g.Og) * g.P * 4;
        const xOff = addr(x) + (n * g.groups + gi) * g.C * HW * 4;
        if (g.pointwise) {
          acc(f32op(gyOff, g.P * 4, 4), f32op(xOff, 4, g.P * 4), g.P); // x^T: [P, C]
          continue;
        }
        for (let oh0 = 0; oh0 < g.Ho; oh0 += g.rows) {
          const oh1 = Math.min(g.Ho, oh0 + g.rows);
          const tn = (oh1 - oh0) * g.Wo;
          cols(rt, 'im2col', g, xOff, oh0, oh1, buf);
          acc(f32op(gyOff + oh0 * g.Wo * 4, g.P * 4, 4), f32op(buf, 4, tn * 4), tn); // cols^T: [tn, K]
        }
      }
      if (first) rt.f32().fill(0, gwOff / 4, gwOff / 4 + g.Og * g.K); // no images
    }
  } finally {
    if (buf >= 0) rt.heap.free(buf, colsBytes);
    rt.heap.free(tmp, tmpBytes);
  }
  return true;
});

registerKernel('cpu-wasm', 'conv2d', (rt, [x, w, b], [y], attrs) => {
  if (!dense(x) || !dense(w) || !dense(y) || (b && !dense(b))) return false;
  const [sh, sw] = attrs.stride as number[];
  const [ph, pw] = attrs.padding as number[];
  const [dh, dw] = attrs.dilation as number[];
  const groups = attrs.groups;
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
          const chans = rt.split(C, 1, Math.ceil(MIN_COLS_CHUNK / (tn * kh * kw)));
          const lists: number[][] = [];
          for (let p = 0; p + 1 < chans.length; p++) {
            const [c0, c1] = [chans[p], chans[p + 1]];
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
