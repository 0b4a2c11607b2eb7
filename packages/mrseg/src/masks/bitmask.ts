/**
 * A bit-packed binary mask (1 bit per pixel, 32 pixels per word). Bits are stored in COCO column-major order
 * (bit index = x * h + y) so RLE conversion is a straight fill / scan of bit ranges.
 */
import { MaskFormatError, MaskSizeMismatchError } from './errors.ts';
import type { RleMask } from './rle.ts';

/** 0-based index of the lowest set bit of a non-zero 32-bit value. */
const ctz = (v: number): number => 31 - Math.clz32(v & -v);

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export class BitMask {
  readonly h: number;
  readonly w: number;
  /** ceil(h*w / 32) words; bits past h*w are always 0. */
  readonly words: Uint32Array;

  constructor(h: number, w: number, words?: Uint32Array) {
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
      throw new MaskFormatError(`invalid mask size [${h}, ${w}]`);
    }
    this.h = h;
    this.w = w;
    const n = Math.ceil((h * w) / 32);
    if (words && words.length !== n) throw new MaskFormatError(`BitMask needs ${n} words, got ${words.length}`);
    this.words = words ?? new Uint32Array(n);
  }

  get size(): number {
    return this.h * this.w;
  }

  /** Pixel at column x, row y (false outside the mask). */
  get(x: number, y: number): boolean {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return false;
    const i = x * this.h + y;
    return ((this.words[i >>> 5] >>> (i & 31)) & 1) === 1;
  }

  /** Sets pixel (x, y); throws RangeError outside the mask. */
  set(x: number, y: number, v = true): void {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) throw new RangeError(`pixel (${x}, ${y}) outside ${this.w}x${this.h}`);
    const i = x * this.h + y;
    if (v) this.words[i >>> 5] |= 1 << (i & 31);
    else this.words[i >>> 5] &= ~(1 << (i & 31));
  }

  /** Sets the column-major bit range [start, end) to 1. */
  fillRange(start: number, end: number): void {
    if (end <= start) return;
    const ws = start >>> 5;
    const we = (end - 1) >>> 5;
    const ms = (0xffffffff << (start & 31)) >>> 0;
    const me = 0xffffffff >>> (31 - ((end - 1) & 31));
    if (ws === we) {
      this.words[ws] |= ms & me;
      return;
    }
    this.words[ws] |= ms;
    this.words.fill(0xffffffff, ws + 1, we);
    this.words[we] |= me;
  }

  /** Sets the pixels of the rectangle [x0, x1) x [y0, y1) (clipped to the mask). */
  fillRect(x0: number, y0: number, x1: number, y1: number): void {
    const xa = Math.max(0, Math.floor(x0));
    const xb = Math.min(this.w, Math.ceil(x1));
    const ya = Math.max(0, Math.floor(y0));
    const yb = Math.min(this.h, Math.ceil(y1));
    if (ya >= yb) return;
    for (let x = xa; x < xb; x++) this.fillRange(x * this.h + ya, x * this.h + yb);
  }

  /** Number of 1 pixels. */
  count(): number {
    let c = 0;
    const ws = this.words;
    for (let i = 0; i < ws.length; i++) if (ws[i] !== 0) c += popcount(ws[i]);
    return c;
  }

  private check(o: BitMask): void {
    if (o.h !== this.h || o.w !== this.w) throw new MaskSizeMismatchError([this.h, this.w], [o.h, o.w]);
  }

  private combine(o: BitMask, f: (a: number, b: number) => number): BitMask {
    this.check(o);
    const r = new Uint32Array(this.words.length);
    for (let i = 0; i < r.length; i++) r[i] = f(this.words[i], o.words[i]);
    return new BitMask(this.h, this.w, r);
  }

  and(o: BitMask): BitMask {
    return this.combine(o, (a, b) => a & b);
  }

  or(o: BitMask): BitMask {
    return this.combine(o, (a, b) => a | b);
  }

  xor(o: BitMask): BitMask {
    return this.combine(o, (a, b) => a ^ b);
  }

  andNot(o: BitMask): BitMask {
    return this.combine(o, (a, b) => a & ~b);
  }

  /** In-place union (avoids an allocation when painting many objects into one mask). */
  orInPlace(o: BitMask): this {
    this.check(o);
    for (let i = 0; i < this.words.length; i++) this.words[i] |= o.words[i];
    return this;
  }

  /** In-place difference: clears the pixels set in `o` (occlusion by a nearer object). */
  andNotInPlace(o: BitMask): this {
    this.check(o);
    for (let i = 0; i < this.words.length; i++) this.words[i] &= ~o.words[i];
    return this;
  }

  not(): BitMask {
    const r = new Uint32Array(this.words.length);
    for (let i = 0; i < r.length; i++) r[i] = ~this.words[i];
    const tail = this.size & 31;
    if (tail && r.length) r[r.length - 1] &= 0xffffffff >>> (32 - tail);
    return new BitMask(this.h, this.w, r);
  }

  /** |this & o| without allocating. */
  intersectionCount(o: BitMask): number {
    this.check(o);
    let c = 0;
    for (let i = 0; i < this.words.length; i++) {
      const v = this.words[i] & o.words[i];
      if (v !== 0) c += popcount(v);
    }
    return c;
  }

  equals(o: BitMask): boolean {
    if (o.h !== this.h || o.w !== this.w) return false;
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== o.words[i]) return false;
    return true;
  }

  clone(): BitMask {
    return new BitMask(this.h, this.w, this.words.slice());
  }

  static fromRle(r: RleMask): BitMask {
    const m = new BitMask(r.h, r.w);
    const c = r.counts;
    let p = 0;
    const n = m.size;
    for (let j = 0; j < c.length; j++) {
      const e = p + c[j];
      if (e > n) throw new MaskFormatError(`RLE counts exceed h*w = ${n}`);
      if (j & 1) m.fillRange(p, e);
      p = e;
    }
    if (p !== n) throw new MaskFormatError(`RLE counts sum to ${p}, expected h*w = ${n}`);
    return m;
  }

  /** Canonical RLE (same counts as pycocotools `encode` of the same pixels). */
  toRle(): RleMask {
    const n = this.size;
    const ws = this.words;
    const out: number[] = [];
    let v = 0;
    let p = 0;
    while (p < n) {
      // First bit >= p whose value differs from v.
      let wi = p >>> 5;
      let word = (v ? ~ws[wi] : ws[wi]) & ((0xffffffff << (p & 31)) >>> 0);
      while (word === 0 && ++wi < ws.length) word = v ? ~ws[wi] : ws[wi];
      const next = wi >= ws.length ? n : Math.min(n, wi * 32 + ctz(word));
      out.push(next - p);
      p = next;
      v ^= 1;
    }
    if (out.length === 0) out.push(0);
    return { h: this.h, w: this.w, counts: Uint32Array.from(out) };
  }

  /**
   * From a byte-per-pixel mask (non-zero = 1). `order` is the layout of `data`: 'row' (index y * w + x, as
   * images) or 'col' (index x * h + y, as Fortran-ordered numpy arrays given to pycocotools).
   */
  static fromBytes(data: ArrayLike<number>, h: number, w: number, order: 'row' | 'col' = 'row'): BitMask {
    if (data.length !== h * w) throw new MaskFormatError(`mask data has ${data.length} values, expected ${h * w}`);
    const m = new BitMask(h, w);
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        const i = x * h + y;
        if (data[order === 'row' ? y * w + x : i]) m.words[i >>> 5] |= 1 << (i & 31);
      }
    }
    return m;
  }

  /** Byte-per-pixel copy (0/1), row-major by default. For display and tests, not for datasets. */
  toBytes(order: 'row' | 'col' = 'row'): Uint8Array {
    const { h, w } = this;
    const out = new Uint8Array(h * w);
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        const i = x * h + y;
        if ((this.words[i >>> 5] >>> (i & 31)) & 1) out[order === 'row' ? y * w + x : i] = 1;
      }
    }
    return out;
  }
}
