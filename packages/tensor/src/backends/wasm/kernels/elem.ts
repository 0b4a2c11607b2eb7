/**
 * Element loads for the storage dtypes the SIMD kernels read: float32, and float16/bfloat16 widened to f32 on the
 * fly (scalar and four lanes at a time). float16 widening is exact for every value (subnormals, infinities, NaN):
 * the 15 magnitude bits are moved to f32 position and scaled by 2^112; exponent 31 becomes 255.
 */
import { f32, f32x4, get, i32, i32x4, seq, set, v128, type Code } from '../emit/code.ts';
import type { Locals } from '../emit/module.ts';

export type ElemType = 'f32' | 'f16' | 'bf16';
/** Element loads of the GEMV kernels: 'f16f' reads float16 known to hold no Inf/NaN (the cheaper widening). */
export type GemvElemType = ElemType | 'f16f';
export const ELEM_BYTES: Record<ElemType, number> = { f32: 4, f16: 2, bf16: 2 };

/** A scalar f32 from an element of type t at `addr` (+off bytes); may use a scratch i32 local. */
export function loadScalar(t: ElemType, addr: Code, L: Locals, off = 0): Code {
  if (t === 'f32') return f32.load(addr, off);
  if (t === 'bf16') return f32.reinterpretI32(i32.shl(i32.load16U(addr, off), i32.c(16)));
  const h = L.i32();
  const m = L.i32();
  // m = (h & 0x7fff) << 13; value = f32(m) * 2^112, Inf/NaN when h's exponent is all ones; then the sign.
  return seq(
    set(h, i32.load16U(addr, off)),
    set(m, i32.shl(i32.and(get(h), i32.c(0x7fff)), i32.c(13))),
    f32.reinterpretI32(
      i32.or(
        i32.or(i32.reinterpretF32(f32.mul(f32.reinterpretI32(get(m)), f32.c(2 ** 112))), i32.shl(i32.and(get(h), i32.c(0x8000)), i32.c(16))),
        // exponent all ones: force the f32 exponent to 255 (the scaled value has it >= 0x47800000 there).
        i32.mul(i32.ge(get(m), i32.c(0x7c00 << 13)), i32.c(0x7f800000)),
      ),
    ),
  );
}

/** The two constants of loadVecFiniteF16, to keep in locals (V8 rematerialises v128 constants inside loops). */
export const FINITE_F16_CONSTS = { mask: 0x8fffe000 | 0, scale: 0x77800000 };

/**
 * Four consecutive float16 elements known to be finite as f32x4, in four operations: sign-extend, shift by 13,
 * clear the sign copies in bits 28-30 (`mask`), times 2^112 (`scale`). Exact for every finite half (subnormals and
 * -0 included); Inf and NaN would come out finite, so only storages scanned free of them use it (see ops/gemm.ts,
 * halfFinite). `mask` and `scale` are the constants of FINITE_F16_CONSTS (as code: a local or a v128 constant).
 */
export function loadVecFiniteF16(addr: Code, mask: Code, scale: Code, off = 0): Code {
  return f32x4.mul(v128.and(i32x4.shl(v128.load16x4S(addr, off), i32.c(13)), mask), scale);
}

/** Four consecutive elements of type t at `addr` as f32x4 (uses two scratch v128 locals for f16). */
export function loadVec(t: ElemType, addr: Code, L: Locals, off = 0): Code {
  if (t === 'f32') return v128.load(addr, off);
  if (t === 'bf16') return i32x4.shl(v128.load16x4U(addr, off), i32.c(16));
  // Sign-extended halves shifted by 13: the sign lands in bit 31 (bits 28-30 are copies of it, cleared), the 15
  // magnitude bits in 13-27; times 2^112 (a float multiply keeps the sign) gives the value for finite halves.
  // Exponent 31 (Inf/NaN) is detected on the magnitude bits and forced to 255.
  const m = L.v128();
  return seq(
    set(m, v128.and(i32x4.shl(v128.load16x4S(addr, off), i32.c(13)), v128.i32x4(0x8fffe000 | 0))),
    v128.or(
      f32x4.mul(get(m), v128.i32x4(0x77800000)),
      v128.and(i32x4.gtU(i32x4.shl(get(m), i32.c(1)), v128.i32x4(((0x7c00 << 13) - 1) << 1)), v128.i32x4(0x7f800000)),
    ),
  );
}

