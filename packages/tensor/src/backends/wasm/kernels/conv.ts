/**
 * `im2col(x, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo, oh0, oh1, dst, c0, c1)`: the column matrix of output rows
 * [oh0, oh1) for input channels [c0, c1) of one image x [C, H, W] (dense f32): dst [C*kh*kw, (oh1-oh0)*Wo], row
 * (c*kh + i)*kw + j, zero where the window falls into the padding. Threads fill disjoint channel ranges.
 * `col2im(cols, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo, oh0, oh1, gx, c0, c1)`: the adjoint, gx [C, H, W] +=
 * every in-bounds entry of cols [C*kh*kw, (oh1-oh0)*Wo] (threads take disjoint channel ranges).
 */
import { f32, forRange, get, i32, ifThen, select, seq, set, v128, type Code } from '../emit/code.ts';
import { Locals, type FuncDef } from '../emit/module.ts';

export function im2colKernel(): FuncDef {
  const params = Array<'i32'>(18).fill('i32');
  const [x, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo, oh0, oh1, dst, c0, c1] = params.map((_, i) => i);
  void C;
  const L = new Locals(params);
  const [c, i, j, oh, ow, ih, iw, d, xrow, tn] = Array.from({ length: 10 }, () => L.i32());
  const inRange = (v: number, n: number): Code => i32.ltU(get(v), get(n)); // 0 <= v < n as unsigned compare
  const rowBody = seq(
    set(ih, i32.add(i32.sub(i32.mul(get(oh), get(sh)), get(ph)), i32.mul(get(i), get(dh)))),
    ifThen(
      inRange(ih, H),
      seq(
        set(xrow, i32.add(get(x), i32.shl(i32.mul(i32.add(i32.mul(get(c), get(H)), get(ih)), get(W)), i32.c(2)))),
        set(iw, i32.sub(i32.mul(get(j), get(dw)), get(pw))),
        forRange(ow, i32.c(0), get(Wo), 1, seq(
          ifThen(inRange(iw, W),
            f32.store(get(d), f32.load(i32.add(get(xrow), i32.shl(get(iw), i32.c(2))))),
            f32.store(get(d), f32.c(0))),
          set(d, i32.add(get(d), i32.c(4))),
          set(iw, i32.add(get(iw), get(sw))),
        )),
      ),
      forRange(ow, i32.c(0), get(Wo), 1, seq(f32.store(get(d), f32.c(0)), set(d, i32.add(get(d), i32.c(4))))),
    ),
  );
  // Unit stride and dilation along W: the valid span of a row is one contiguous run of the input, copied four
  // floats at a time, with zeros before and after it.
  const [lo, hi, q] = [L.i32(), L.i32(), L.i32()];
  const clampWo = (v: Code): Code => select(i32.c(0), select(get(Wo), v, i32.gt(v, get(Wo))), i32.lt(v, i32.c(0)));
  const unitRow = seq(
    set(ih, i32.add(i32.sub(i32.mul(get(oh), get(sh)), get(ph)), i32.mul(get(i), get(dh)))),
    ifThen(
      inRange(ih, H),
      seq(
        set(lo, clampWo(i32.sub(get(pw), get(j)))),
        set(hi, clampWo(i32.sub(i32.add(get(W), get(pw)), get(j)))),
        set(hi, select(get(hi), get(lo), i32.gt(get(hi), get(lo)))),
        // src of output column ow: x[c, ih, ow - pw + j]
        set(xrow, i32.add(get(x), i32.shl(i32.add(i32.mul(i32.add(i32.mul(get(c), get(H)), get(ih)), get(W)), i32.sub(get(j), get(pw))), i32.c(2)))),
        forRange(ow, i32.c(0), get(lo), 1, f32.store(i32.add(get(d), i32.shl(get(ow), i32.c(2))), f32.c(0))),
        set(q, i32.sub(get(hi), i32.and(i32.sub(get(hi), get(lo)), i32.c(3)))),
        forRange(ow, get(lo), get(q), 4, v128.store(i32.add(get(d), i32.shl(get(ow), i32.c(2))), v128.load(i32.add(get(xrow), i32.shl(get(ow), i32.c(2)))))),
        forRange(ow, get(q), get(hi), 1, f32.store(i32.add(get(d), i32.shl(get(ow), i32.c(2))), f32.load(i32.add(get(xrow), i32.shl(get(ow), i32.c(2)))))),
        forRange(ow, get(hi), get(Wo), 1, f32.store(i32.add(get(d), i32.shl(get(ow), i32.c(2))), f32.c(0))),
      ),
      forRange(ow, i32.c(0), get(Wo), 1, f32.store(i32.add(get(d), i32.shl(get(ow), i32.c(2))), f32.c(0))),
    ),
    set(d, i32.add(get(d), i32.shl(get(Wo), i32.c(2)))),
  );
  const unit = i32.and(i32.eq(get(sw), i32.c(1)), i32.eq(get(dw), i32.c(1)));
  const body = seq(
    set(tn, i32.mul(i32.sub(get(oh1), get(oh0)), get(Wo))),
    forRange(c, get(c0), get(c1), 1, forRange(i, i32.c(0), get(kh), 1, forRange(j, i32.c(0), get(kw), 1, seq(
      set(d, i32.add(get(dst), i32.shl(i32.mul(i32.add(i32.mul(i32.add(i32.mul(get(c), get(kh)), get(i)), get(kw)), get(j)), get(tn)), i32.c(2)))),
      ifThen(unit, forRange(oh, get(oh0), get(oh1), 1, unitRow), forRange(oh, get(oh0), get(oh1), 1, rowBody)),
    )))),
  );
  return { name: 'im2col', params, locals: L.types, body };
}

export function col2imKernel(): FuncDef {
  const params = Array<'i32'>(18).fill('i32');
  const [cols, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Wo, oh0, oh1, gx, c0, c1] = params.map((_, i) => i);
  void C;
  const L = new Locals(params);
  const [c, i, j, oh, ow, ih, iw, s, xrow, tn, p] = Array.from({ length: 11 }, () => L.i32());
  const inRange = (v: number, n: number): Code => i32.ltU(get(v), get(n));
  const rowBody = seq(
    set(ih, i32.add(i32.sub(i32.mul(get(oh), get(sh)), get(ph)), i32.mul(get(i), get(dh)))),
    ifThen(inRange(ih, H), seq(
      set(xrow, i32.add(get(gx), i32.shl(i32.mul(i32.add(i32.mul(get(c), get(H)), get(ih)), get(W)), i32.c(2)))),
      set(iw, i32.sub(i32.mul(get(j), get(dw)), get(pw))),
      forRange(ow, i32.c(0), get(Wo), 1, seq(
        ifThen(inRange(iw, W), seq(
          set(p, i32.add(get(xrow), i32.shl(get(iw), i32.c(2)))),
          f32.store(get(p), f32.add(f32.load(get(p)), f32.load(i32.add(get(s), i32.shl(get(ow), i32.c(2)))))),
        )),
        set(iw, i32.add(get(iw), get(sw))),
      )),
    )),
    set(s, i32.add(get(s), i32.shl(get(Wo), i32.c(2)))),
  );
  const body = seq(
    set(tn, i32.mul(i32.sub(get(oh1), get(oh0)), get(Wo))),
    forRange(c, get(c0), get(c1), 1, forRange(i, i32.c(0), get(kh), 1, forRange(j, i32.c(0), get(kw), 1, seq(
      set(s, i32.add(get(cols), i32.shl(i32.mul(i32.add(i32.mul(i32.add(i32.mul(get(c), get(kh)), get(i)), get(kw)), get(j)), get(tn)), i32.c(2)))),
      forRange(oh, get(oh0), get(oh1), 1, rowBody),
    )))),
  );
  return { name: 'col2im', params, locals: L.types, body };
}
