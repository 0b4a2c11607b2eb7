/**
 * WebGPU `sdpa` on CPU adapters with the broadcast GEMM (lavapipe; contract in ops/attention/attention.ts): the CPU
 * backend's blocked form. Scores S = Q . K^T by the matmul kernel into an f32 scratch buffer, an exact softmax per
 * row in place (scale, additive mask, bottom-right causal limit; a row that sees no key becomes NaN, as on the CPU),
 * then O = P . V by the matmul kernel straight into the output. Grouped KV heads are stride-0 batch views of K and V
 * ([B, Hk, G, ...]). Work goes in chunks of (batch, kv head) units whose scores fit `GEMM_ATTN.budget` floats.
 *
 * On lavapipe every storage load costs about the same per lane and subgroup broadcasts are free, so the two GEMMs
 * at ~20 GFLOP/s (worker CPU) beat the tiled kernel's workgroup-memory loops (~1.5) even with the scores written
 * out and causal halves computed; GPUs keep the tiled flash kernel (./attention-tiled.ts).
 */
import type { View } from '../../../backend.ts';
import { rt } from '../backend.ts';
import { loadAs } from '../codegen.ts';
import { launch, withTempF32 } from './launch.ts';
import { encodeMatmul } from './matmul.ts';
import { bcastTile } from './matmul-bcast.ts';

/** `budget`: scratch floats for the scores of one chunk (64 MiB). */
export const GEMM_ATTN = { enabled: true, budget: 1 << 24 };

const w = (i: number) => `u.m[${i >> 2}].${'xyzw'[i & 3]}`;

/** Whether the GEMM form applies: a CPU adapter with the broadcast GEMM, and one unit's scores fit one binding. */
export function gemmAttnFits(Hq: number, Hk: number, Tq: number, Tk: number): boolean {
  const r = rt();
  const unit = (Hq / Hk) * Tq * Tk;
  return GEMM_ATTN.enabled && r.cpuAdapter && bcastTile() !== null && unit * 4 <= Math.min(r.limits.maxStorageBufferBindingSize, GEMM_ATTN.budget * 4);
}

export function encodeGemmSdpa(q: View, k: View, v: View, mask: View | undefined, out: View, attrs: Record<string, unknown>): void {
  const [B, Hq, Tq, D] = q.shape;
  const [, Hk, Tk] = k.shape;
  const Dv = v.shape[3];
  const G = Hq / Hk;
  const units = B * Hk;
  const per = Math.max(1, Math.floor(GEMM_ATTN.budget / (G * Tq * Tk)));
  const causal = attrs.causal as boolean;
  for (let u0 = 0; u0 < units; u0 += per) {
    const n = Math.min(per, units - u0);
    withTempF32(n * G * Tq * Tk, (sv) => {
      // S [n, G, Tq, Tk] = Q [n, G, Tq, D] . K^T [n, G (stride 0), D, Tk]
      const s: View = { ...sv, shape: [n, G, Tq, Tk], strides: [G * Tq * Tk, Tq * Tk, Tk, 1], offset: 0 };
      const qa: View = { ...q, shape: [n, G, Tq, D], strides: [G * Tq * D, Tq * D, D, 1], offset: q.offset + u0 * G * Tq * D };
      const kt: View = { ...k, shape: [n, G, D, Tk], strides: [Tk * D, 0, 1, D], offset: k.offset + u0 * Tk * D };
      encodeMatmul(qa, kt, s);
      // softmax of each row in place, one thread per row
      launch(mask ? [mask] : [], [sv], n * G * Tq, (u) => {
        const m = u.index;
        u.i(u0, Hk, G, Tq, Tk, mask ? mask.shape[0] : 0, mask ? mask.shape[1] : 0);
        u.f(attrs.scale as number);
        const so = mask ? 'b1' : 'b0';
        return `let u0 = ${w(m)}; let Hk = ${w(m + 1)}; let G = ${w(m + 2)}; let Tq = ${w(m + 3)}; let Tk = ${w(m + 4)};
  let scale = bitcast<f32>(${w(m + 7)});
  let r = i32(idx); let i = r % Tq; let g = (r / Tq) % G; let unit = u0 + r / (Tq * G);
  let b = unit / Hk; let h = (unit % Hk) * G + g;
  let ro = ${so} + r * Tk;
  ${mask ? `let mB = ${w(m + 5)}; let mH = ${w(m + 6)}; let mo = b0 + ((select(b, 0, mB == 1) * mH + select(h, 0, mH == 1)) * Tq + i) * Tk;` : ''}
  let jEnd = ${causal ? 'clamp(i + 1 + Tk - Tq, 0, Tk)' : 'Tk'};
  var mx = -f_inf();
  for (var j = 0; j < jEnd; j++) {
    let x = out0[ro + j] * scale${mask ? ` + ${loadAs('in0[mo + j]', mask.dtype, 'f32')}` : ''};
    out0[ro + j] = x;
    mx = max(mx, x);
  }
  var sum = 0.0;
  if (mx > -f_inf()) {
    for (var j = 0; j < jEnd; j++) { let p = exp(out0[ro + j] - mx); out0[ro + j] = p; sum += p; }
  }
  // a row that sees no key: NaN probabilities (NaN output, as on the CPU)
  let inv = select(f_nan(), 1.0 / sum, sum > 0.0);
  for (var j = 0; j < jEnd; j++) { out0[ro + j] = out0[ro + j] * inv; }
  for (var j = jEnd; j < Tk; j++) { out0[ro + j] = select(f_nan(), 0.0, sum > 0.0); }`;
      });
      // O [n, G, Tq, Dv] = P [n, G, Tq, Tk] . V [n, G (stride 0), Tk, Dv]
      const va: View = { ...v, shape: [n, G, Tk, Dv], strides: [Tk * Dv, 0, Dv, 1], offset: v.offset + u0 * Tk * Dv };
      const o: View = { ...out, shape: [n, G, Tq, Dv], strides: [G * Tq * Dv, Tq * Dv, Dv, 1], offset: out.offset + u0 * G * Tq * Dv };
      encodeMatmul(s, va, o);
    });
  }
}
