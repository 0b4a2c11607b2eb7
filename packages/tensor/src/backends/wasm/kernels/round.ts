/**
 * f32 -> half rounding (round to nearest even, as dtype.ts): `f32_to_f16(src, dst, n)` and `f32_to_bf16(src, dst,
 * n)` over dense arrays. float16 follows F. Giesen's float_to_half_fast3_rtne: overflow to Inf, NaN to 0x7e00,
 * subnormals by adding 0.5 as a float (the FPU rounds), normals by adding 0xfff plus the lowest kept bit.
 */
import { f32, forRange, get, i32, ifThen, seq, set } from '../emit/code.ts';
import { Locals, type FuncDef } from '../emit/module.ts';

function toF16(): FuncDef {
  const params = Array<'i32'>(3).fill('i32');
  const [src, dst, n] = [0, 1, 2];
  const L = new Locals(params);
  const [i, u, sign, h] = [L.i32(), L.i32(), L.i32(), L.i32()];
  const body = forRange(i, i32.c(0), get(n), 1, seq(
    set(u, i32.reinterpretF32(f32.load(i32.add(get(src), i32.shl(get(i), i32.c(2)))))),
    set(sign, i32.and(get(u), i32.c(0x80000000 | 0))),
    set(u, i32.xor(get(u), get(sign))),
    ifThen(i32.geU(get(u), i32.c(0x47800000)),
      set(h, i32.add(i32.c(0x7c00), i32.mul(i32.gtU(get(u), i32.c(0x7f800000)), i32.c(0x200)))),
      ifThen(i32.ltU(get(u), i32.c(0x38800000)),
        set(h, i32.sub(i32.reinterpretF32(f32.add(f32.reinterpretI32(get(u)), f32.c(0.5))), i32.c(0x3f000000))),
        set(h, i32.shrU(i32.add(i32.add(get(u), i32.c(-0x38000000 + 0xfff)), i32.and(i32.shrU(get(u), i32.c(13)), i32.c(1))), i32.c(13))))),
    i32.store16(i32.add(get(dst), i32.shl(get(i), i32.c(1))), i32.or(get(h), i32.shrU(get(sign), i32.c(16)))),
  ));
  return { name: 'f32_to_f16', params, locals: L.types, body };
}

function toBf16(): FuncDef {
  const params = Array<'i32'>(3).fill('i32');
  const [src, dst, n] = [0, 1, 2];
  const L = new Locals(params);
  const [i, x] = [L.i32(), L.i32()];
  const body = forRange(i, i32.c(0), get(n), 1, seq(
    set(x, i32.reinterpretF32(f32.load(i32.add(get(src), i32.shl(get(i), i32.c(2)))))),
    ifThen(i32.gtU(i32.and(get(x), i32.c(0x7fffffff)), i32.c(0x7f800000)),
      i32.store16(i32.add(get(dst), i32.shl(get(i), i32.c(1))), i32.or(i32.shrU(get(x), i32.c(16)), i32.c(0x40))),
      i32.store16(i32.add(get(dst), i32.shl(get(i), i32.c(1))),
        i32.shrU(i32.add(i32.add(get(x), i32.c(0x7fff)), i32.and(i32.shrU(get(x), i32.c(16)), i32.c(1))), i32.c(16)))),
  ));
  return { name: 'f32_to_bf16', params, locals: L.types, body };
}

export function roundKernels(): (() => FuncDef)[] {
  return [toF16, toBf16];
}
