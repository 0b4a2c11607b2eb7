/**
 * One block of query rows of scaled dot-product attention as a single WebAssembly function, so that threads can
 * take whole blocks (heads x query blocks) as chunks of one parallel run instead of splitting every small product:
 *
 * `sdpa_block(q, k, v, o, mrow, m, Tk, D, Dv, scale, causal, first, scratch)`, all f32 and dense:
 * S [m, Tk] = Q [m, D] . K^T (K [Tk, D] read transposed in place), S *= scale, S += the mask rows [m, Tk] at `mrow`
 * (when mrow != 0), keys j >= first + i of row i set to -Infinity (when causal), softmax per row, then
 * O [m, Dv] = S . V [Tk, Dv]. `scratch` is the running thread's area: the GEMM scratch (SCRATCH_BYTES), 64 bytes
 * holding `scale`, then S (SDPA_SCORES_OFFSET). The steps and their order are those of the host-side loop in
 * ops/attention.ts, so the results are the same whichever thread runs a block. m, Tk, D and Dv must be >= 1.
 */
import { call, f32, forRange, get, i32, ifThen, seq, set, type Code } from '../emit/code.ts';
import { Locals, type FuncDef } from '../emit/module.ts';
import { SCRATCH_BYTES, type FnIndex } from './gemm.ts';

/** Byte offset of the score block in a thread's sdpa area (after the GEMM scratch and the scale slot). */
export const SDPA_SCORES_OFFSET = SCRATCH_BYTES + 64;

export function sdpaBlockKernel(fn: FnIndex): FuncDef {
  const params = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'i32', 'i32', 'i32'] as const;
  const [q, k, v, o, mrow, m, Tk, D, Dv, scale, causal, first, scratch] = params.map((_, i) => i);
  const L = new Locals([...params]);
  const [S, slot, i, j, row] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  const mn = i32.mul(get(m), get(Tk));
  const bytes = (x: number): Code => i32.shl(get(x), i32.c(2));
  const body: Code = seq(
    set(slot, i32.add(get(scratch), i32.c(SCRATCH_BYTES))),
    set(S, i32.add(get(scratch), i32.c(SDPA_SCORES_OFFSET))),
    f32.store(get(slot), get(scale)),
    call(fn('gemm_f32f32'), get(q), bytes(D), i32.c(4), get(k), i32.c(4), bytes(D), get(S), bytes(Tk), i32.c(0), get(m), get(D), i32.c(0), get(Tk), get(scratch)),
    call(fn('bin_mul'), get(S), get(slot), get(S), mn, i32.c(1)),
    ifThen(get(mrow), call(fn('bin_add'), get(S), get(mrow), get(S), mn, i32.c(0))),
    ifThen(get(causal), forRange(i, i32.c(0), get(m), 1, seq(
      set(j, i32.add(get(first), get(i))),
      set(j, i32.and(get(j), i32.xor(i32.shrS(get(j), i32.c(31)), i32.c(-1)))), // max(0, j)
      set(row, i32.add(get(S), i32.shl(i32.mul(get(i), get(Tk)), i32.c(2)))),
      forRange(j, get(j), get(Tk), 1, f32.store(i32.add(get(row), i32.shl(get(j), i32.c(2))), f32.c(-Infinity))),
    ))),
    call(fn('softmax_rows'), get(S), get(S), get(m), get(Tk)),
    call(fn('gemm_f32f32'), get(S), bytes(Tk), i32.c(4), get(v), bytes(Dv), i32.c(4), get(o), bytes(Dv), i32.c(0), get(m), get(Tk), i32.c(0), get(Dv), get(scratch)),
  );
  return { name: 'sdpa_block', params: [...params], locals: L.types, body };
}
