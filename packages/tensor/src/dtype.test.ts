import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits, toFloat32Array } from './dtype.ts';

describe('float16 / bfloat16 widening', () => {
  it('toFloat32Array decodes every float16 bit pattern like f16BitsToF32 (exact; NaN stays NaN)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = toFloat32Array('float16', all);
    for (let h = 0; h < 65536; h++) {
      const want = f16BitsToF32(h);
      if (Number.isNaN(want)) expect(out[h]).toBeNaN();
      else expect(Object.is(out[h], Math.fround(want))).toBe(true);
    }
    // spot values: max finite, smallest subnormal, signed zero, infinities
    expect([out[0x7bff], out[0x0001], Object.is(out[0x8000], -0), out[0x7c00], out[0xfc00]]).toEqual([65504, 2 ** -24, true, Infinity, -Infinity]);
    // and the round trip of every finite value
    for (let h = 0; h < 65536; h++) if ((h & 0x7c00) !== 0x7c00) expect(f32ToF16Bits(out[h])).toBe(h);
  });

  it('toFloat32Array decodes every bfloat16 bit pattern to the float32 with those top 16 bits (NaN payloads kept)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = toFloat32Array('bfloat16', all);
    const bits = new Uint32Array(out.buffer);
    for (let b = 0; b < 65536; b++) {
      expect(bits[b]).toBe((b << 16) >>> 0);
      const want = bf16BitsToF32(b);
      if (!Number.isNaN(want)) expect(Object.is(out[b], want)).toBe(true);
    }
  });
});
