/**
 * Split-K for short, deep products (M <= 64, K >= 4096) whose output has few workgroups: the tier's shader runs
 * once per K chunk (wid.z = chunk x batch), writing f32 partials P [S, batch, M, N], then one pass sums the chunks
 * and applies the epilogue. The plan reads the tier's grid and K step from ./matmul-tier.ts.
 */
import type { View } from '../../../backend.ts';
import { rt } from '../backend.ts';
import { loadAs, storeFrom, uw } from '../codegen.ts';
import { launch } from './launch.ts';
import { kExtent, kStep, tierGroups, tierName, type Tier } from './matmul-tier.ts';

/**
 * Split-K applies to M <= maxM and K >= minK when the output has fewer than maxTiles workgroups (batches included):
 * K is cut into chunks of at least `minChunk` loop steps so that about `targetGroups` workgroups run (a few on CPU
 * adapters, whose "GPU" is a handful of threads).
 */
export const SPLIT_K = { maxM: 64, minK: 4096, maxTiles: 32, targetGroups: 64, targetGroupsCpu: 8, minChunk: 256 };

/** How a split-K dispatch cuts K: `splits` chunks of `chunk` loop steps (vec4 steps in the vec4 layouts). */
export interface SplitPlan {
  splits: number;
  chunk: number;
  /** The variant label, `matmul:splitk-<tier>`. */
  variant: string;
}

export function splitPlan(t: Tier, M: number, K: number, N: number, nb: number): SplitPlan | null {
  if (M > SPLIT_K.maxM || K < SPLIT_K.minK) return null;
  const [gx, gy] = tierGroups(t, M, N);
  const tiles = nb * gx * gy;
  if (tiles >= SPLIT_K.maxTiles) return null;
  const extent = kExtent(t, K);
  const target = rt().cpuAdapter ? SPLIT_K.targetGroupsCpu : SPLIT_K.targetGroups;
  const want = Math.min(Math.ceil(target / tiles), Math.floor(extent / SPLIT_K.minChunk));
  if (want < 2) return null;
  const step = kStep(t);
  const chunk = Math.ceil(extent / want / step) * step;
  const splits = Math.ceil(extent / chunk);
  if (nb * splits > 65535) return null;
  return { splits, chunk, variant: `matmul:splitk-${tierName(t)}` };
}

/**
 * Sums the `splits` partial products in `pv` into Y[..., m, ycol + n] (row stride ldy), applying the epilogue
 * (`act`: WGSL of x or null; `bias` of column bcol + n) to each sum before its one rounding.
 */
export function sumPartials(pv: View, y: View, total: number, splits: number, M: number, N: number, ldy: number, ycol: number, act: string | null, bias: View | null): void {
  launch(bias ? [pv, bias] : [pv], [{ ...y, offset: 0 }], total, (u) => {
    const m = u.index;
    u.i(splits, M, N, ldy, ycol, ycol - y.offset);
    const w = (i: number) => uw(m + i);
    const b = bias ? ` + ${loadAs(`in1[b1 + ${w(5)} + n]`, bias.dtype, 'f32')}` : '';
    return `let tot = ${uw(0)}; let i = i32(idx); let n = i % ${w(2)}; let row = i / ${w(2)};
  var s = 0.0;
  for (var t = 0; t < ${w(0)}; t++) { s += in0[b0 + t * tot + i]; }
  let x = s${b}; let r = ${act ?? 'x'};
  out0[${w(4)} + row * ${w(3)} + n] = ${storeFrom('r', 'f32', y.dtype)};`;
  });
}
