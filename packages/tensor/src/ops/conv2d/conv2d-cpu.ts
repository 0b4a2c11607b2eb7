/**
 * CPU kernels of conv2d: im2col + the blocked `gemm`, per image and group, over tiles of output rows (so the column
 * buffer stays about a megabyte whatever the image size).
 *
 * Kernels (inputs contiguous, any offset; outputs fresh and contiguous; attrs
 * {stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups}):
 * - `conv2d`: [x [N, C, H, W], w [O, C/groups, kh, kw], (bias [O])] -> [y [N, O, Ho, Wo]].
 * - `conv2d_grad_input`: [gy [N, O, Ho, Wo], w [O, C/groups, kh, kw]] -> [gx [N, C, H, W]].
 * - `conv2d_grad_weight`: [gy [N, O, Ho, Wo], x [N, C, H, W]] -> [gw [O, C/groups, kh, kw]].
 */
import type { ConvAttrs } from '../../kernels.ts';
import type { View } from '../../backend.ts';
import type { Window2d } from '../spatial/args.ts';
import { arr } from '../../backends/cpu/backend.ts';
import { registerKernel } from '../../kernels.ts';
import { gemm } from '../matmul/matmul.ts';

type F = Float32Array | Float64Array;

/** Elements of the im2col buffer a tile aims for (1 MiB of float32). */
const COLS_BUDGET = 1 << 18;

/** The geometry of one group's convolution. */
interface Geom extends Window2d {
  /** Input channels per group. */
  C: number;
}

function geomOf(x: { shape: readonly number[] }, w: { shape: readonly number[] }, y: { shape: readonly number[] }, attrs: ConvAttrs): Geom {
  const [sh, sw] = attrs.stride as number[];
  const [ph, pw] = attrs.padding as number[];
  const [dh, dw] = attrs.dilation as number[];
  return { C: w.shape[1], H: x.shape[2], W: x.shape[3], kh: w.shape[2], kw: w.shape[3], sh, sw, ph, pw, dh, dw, Ho: y.shape[2], Wo: y.shape[3] };
}

/** A 1x1 kernel with stride 1 and no padding: the input plane is already the column matrix. */
const isPointwise = (g: Geom) => g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;

/** Output rows per tile so that the [C*kh*kw, rows*Wo] column buffer stays near COLS_BUDGET. */
const tileRows = (g: Geom) => Math.max(1, Math.min(g.Ho, Math.floor(COLS_BUDGET / (g.C * g.kh * g.kw * g.Wo))));

/** The range of ow whose input column ow*sw + dx lies in [0, W). */
function validCols(g: Geom, dx: number): [number, number] {
  const lo = Math.min(g.Wo, Math.max(0, Math.ceil(-dx / g.sw)));
  const hi = Math.max(lo, Math.min(g.Wo, Math.floor((g.W - 1 - dx) / g.sw) + 1));
  return [lo, hi];
}

/**
 * cols [C*kh*kw, (oh1-oh0)*Wo]: row (c*kh + i)*kw + j holds, for each output pixel of rows [oh0, oh1), the input
 * value under kernel tap (i, j) of channel c (0 in the padding). x is one group's [C, H, W] planes at xOff.
 */
function im2col(x: F, xOff: number, g: Geom, oh0: number, oh1: number, cols: F): void {
  const { C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo } = g;
  const tn = (oh1 - oh0) * Wo;
  let r = 0;
  for (let c = 0; c < C; c++) {
    const xc = xOff + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, r++) {
        const dx = j * dw - pw;
        const [lo, hi] = validCols(g, dx);
        let dst = r * tn;
        for (let oh = oh0; oh < oh1; oh++, dst += Wo) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= H) {
            cols.fill(0, dst, dst + Wo);
            continue;
          }
          for (let ow = 0; ow < lo; ow++) cols[dst + ow] = 0;
          for (let ow = hi; ow < Wo; ow++) cols[dst + ow] = 0;
          const src = xc + ih * W + dx;
          for (let ow = lo; ow < hi; ow++) cols[dst + ow] = x[src + ow * sw];
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: adds each column entry back onto the input pixel it was read from. (A deliberate adjoint
 * pair: the loops mirror im2col's line for line, reads and writes swapped, so each is checked against the other.)
 */
function col2im(cols: F, g: Geom, oh0: number, oh1: number, gx: F, xOff: number): void {
  const { C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo } = g;
  const tn = (oh1 - oh0) * Wo;
  let r = 0;
  for (let c = 0; c < C; c++) {
    const xc = xOff + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, r++) {
        const dx = j * dw - pw;
        const [lo, hi] = validCols(g, dx);
        let src = r * tn;
        for (let oh = oh0; oh < oh1; oh++, src += Wo) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= H) continue;
          const dst = xc + ih * W + dx;
          for (let ow = lo; ow < hi; ow++) gx[dst + ow * sw] += cols[src + ow];
        }
      }
    }
  }
}

type Ctor = typeof Float32Array | typeof Float64Array;
const ctorOf = (a: F): Ctor => (a instanceof Float64Array ? Float64Array : Float32Array);

/** A scratch array on shared memory where available, so a multithreaded gemm can use it without a copy. */
function scratch(C: Ctor, n: number): F {
  if (typeof SharedArrayBuffer === 'undefined') return new C(n);
  const buf = new SharedArrayBuffer(n * C.BYTES_PER_ELEMENT);
  return C === Float64Array ? new Float64Array(buf) : new Float32Array(buf);
}

function convForward([x, w, b]: View[], [y]: View[], attrs: ConvAttrs): void {
  const X = arr(x) as F;
  const Wt = arr(w) as F;
  const Y = arr(y) as F;
  const B = b ? (arr(b) as F) : null;
  const groups = attrs.groups;
  const g = geomOf(x, w, y, attrs);
  const [N, O] = [y.shape[0], y.shape[1]];
  const Og = O / groups;
  const K = g.C * g.kh * g.kw;
  const P = g.Ho * g.Wo;
  const HW = g.H * g.W;
  const Ctor = ctorOf(Y);
  const pointwise = isPointwise(g);
  const rows = tileRows(g);
  const cols = pointwise ? null : scratch(Ctor, K * rows * g.Wo);
  const tmp = !pointwise && rows < g.Ho ? scratch(Ctor, Og * rows * g.Wo) : null;
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const wg = Wt.subarray(w.offset + gi * Og * K, w.offset + (gi + 1) * Og * K); // [Og, K]
      const yOff = y.offset + (n * O + gi * Og) * P;
      const xOff = x.offset + (n * groups + gi) * g.C * HW;
      if (pointwise) {
        gemm(wg, X.subarray(xOff, xOff + K * P), Y.subarray(yOff, yOff + Og * P), Og, K, P);
        continue;
      }
      for (let oh0 = 0; oh0 < g.Ho; oh0 += rows) {
        const oh1 = Math.min(g.Ho, oh0 + rows);
        const tn = (oh1 - oh0) * g.Wo;
        const c = cols!.subarray(0, K * tn);
        im2col(X, xOff, g, oh0, oh1, c);
        if (!tmp) {
          gemm(wg, c, Y.subarray(yOff, yOff + Og * P), Og, K, P);
          continue;
        }
        const t = tmp.subarray(0, Og * tn);
        gemm(wg, c, t, Og, K, tn);
        for (let o = 0; o < Og; o++) Y.set(t.subarray(o * tn, (o + 1) * tn), yOff + o * P + oh0 * g.Wo);
      }
    }
    if (B) {
      for (let o = 0; o < O; o++) {
        const bv = B[b.offset + o];
        const base = y.offset + (n * O + o) * P;
        for (let p = 0; p < P; p++) Y[base + p] += bv;
      }
    }
  }
}

function convGradInput([gy, w]: View[], [gx]: View[], attrs: ConvAttrs): void {
  const GY = arr(gy) as F;
  const Wt = arr(w) as F;
  const GX = arr(gx) as F;
  const groups = attrs.groups;
  const g = geomOf(gx, w, gy, attrs);
  const [N, O] = [gy.shape[0], gy.shape[1]];
  const Og = O / groups;
  const K = g.C * g.kh * g.kw;
  const P = g.Ho * g.Wo;
  const HW = g.H * g.W;
  const Ctor = ctorOf(GX);
  const pointwise = isPointwise(g);
  const rows = tileRows(g);
  const cols = pointwise ? null : scratch(Ctor, K * rows * g.Wo);
  const gyTile = !pointwise && rows < g.Ho ? scratch(Ctor, Og * rows * g.Wo) : null;
  // The transposed weights of each group: [K, Og].
  const wT = Array.from({ length: groups }, (_, gi) => {
    const t = scratch(Ctor, K * Og);
    const base = w.offset + gi * Og * K;
    for (let o = 0; o < Og; o++) for (let k = 0; k < K; k++) t[k * Og + o] = Wt[base + o * K + k];
    return t;
  });
  if (!pointwise) GX.fill(0, gx.offset, gx.offset + gx.shape.reduce((a, d) => a * d, 1));
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const gyOff = gy.offset + (n * O + gi * Og) * P;
      const xOff = gx.offset + (n * groups + gi) * g.C * HW;
      if (pointwise) {
        gemm(wT[gi], GY.subarray(gyOff, gyOff + Og * P), GX.subarray(xOff, xOff + K * P), K, Og, P);
        continue;
      }
      for (let oh0 = 0; oh0 < g.Ho; oh0 += rows) {
        const oh1 = Math.min(g.Ho, oh0 + rows);
        const tn = (oh1 - oh0) * g.Wo;
        let gyt: F;
        if (gyTile) {
          gyt = gyTile.subarray(0, Og * tn);
          for (let o = 0; o < Og; o++) {
            const s = gyOff + o * P + oh0 * g.Wo;
            gyt.set(GY.subarray(s, s + tn), o * tn);
          }
        } else gyt = GY.subarray(gyOff, gyOff + Og * P);
        const c = cols!.subarray(0, K * tn);
        gemm(wT[gi], gyt, c, K, Og, tn);
        col2im(c, g, oh0, oh1, GX, xOff);
      }
    }
  }
}

function convGradWeight([gy, x]: View[], [gw]: View[], attrs: ConvAttrs): void {
  const GY = arr(gy) as F;
  const X = arr(x) as F;
  const GW = arr(gw) as F;
  const groups = attrs.groups;
  const g = geomOf(x, gw, gy, attrs);
  const [N, O] = [gy.shape[0], gy.shape[1]];
  const Og = O / groups;
  const K = g.C * g.kh * g.kw;
  const P = g.Ho * g.Wo;
  const HW = g.H * g.W;
  const Ctor = ctorOf(GW);
  const pointwise = isPointwise(g);
  const rows = pointwise ? g.Ho : tileRows(g);
  const cols = pointwise ? null : scratch(Ctor, K * rows * g.Wo);
  const gyT = scratch(Ctor, rows * g.Wo * Og); // [tn, Og]
  const part = scratch(Ctor, K * Og);
  // Accumulated transposed weight gradients of each group: [K, Og].
  const acc = Array.from({ length: groups }, () => new Float64Array(K * Og));
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const gyOff = gy.offset + (n * O + gi * Og) * P;
      const xOff = x.offset + (n * groups + gi) * g.C * HW;
      for (let oh0 = 0; oh0 < g.Ho; oh0 += rows) {
        const oh1 = Math.min(g.Ho, oh0 + rows);
        const tn = (oh1 - oh0) * g.Wo;
        let c: F;
        if (pointwise) c = X.subarray(xOff, xOff + K * P);
        else {
          c = cols!.subarray(0, K * tn);
          im2col(X, xOff, g, oh0, oh1, c);
        }
        const t = gyT.subarray(0, tn * Og);
        for (let o = 0; o < Og; o++) {
          const s = gyOff + o * P + oh0 * g.Wo;
          for (let p = 0; p < tn; p++) t[p * Og + o] = GY[s + p];
        }
        gemm(c, t, part, K, tn, Og);
        const a = acc[gi];
        for (let i = 0; i < a.length; i++) a[i] += part[i];
      }
    }
  }
  for (let gi = 0; gi < groups; gi++) {
    const a = acc[gi];
    const base = gw.offset + gi * Og * K;
    for (let o = 0; o < Og; o++) for (let k = 0; k < K; k++) GW[base + o * K + k] = a[k * Og + o];
  }
}

const FLOATS = { dtypes: ['float32', 'float64'] as const };
registerKernel('cpu', 'conv2d', convForward, FLOATS);
registerKernel('cpu', 'conv2d_grad_input', convGradInput, FLOATS);
registerKernel('cpu', 'conv2d_grad_weight', convGradWeight, FLOATS);
