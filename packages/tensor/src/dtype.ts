/**
 * Data types. Floating types other than float32/float64 are storage formats: the CPU backend computes in f32
 * (or f64 for float64) and rounds on store; WebGPU computes f16 natively where `shader-f16` exists.
 */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'uint8' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'uint8', 'bool'];

/** The typed array each dtype is stored in (f16/bf16 as raw 16-bit words, bool as 0/1 bytes). */
export type StorageArray = Float32Array | Float64Array | Uint16Array | Int32Array | Uint8Array;

export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'uint8':
    case 'bool':
      return 1;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function isInt(dtype: DType): boolean {
  return dtype === 'int32' || dtype === 'uint8';
}

export function allocArray(dtype: DType, n: number): StorageArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
  }
}

/** View raw little-endian bytes as the storage array of `dtype` (copies when unaligned). */
export function arrayFromBytes(dtype: DType, bytes: Uint8Array): StorageArray {
  const size = itemSize(dtype);
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / size;
  switch (dtype) {
    case 'float32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'float64':
      return new Float64Array(aligned.buffer, aligned.byteOffset, n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    case 'int32':
      return new Int32Array(aligned.buffer, aligned.byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(aligned.buffer, aligned.byteOffset, n);
  }
}

// ---- half-precision conversions (round to nearest even, like PyTorch) ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value -> IEEE binary16 bits, round-to-nearest-even, with overflow to inf and subnormals. */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 value -> bfloat16 bits, round-to-nearest-even (NaN stays NaN). */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

let f16Table: Float32Array | null = null;

/** float32 value of every float16 bit pattern (256 KiB, built on first use): widening is then one load per element. */
function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

/** Widen a storage array of any dtype to float32 (f16/bf16 decoded; ints converted). */
export function toFloat32Array(dtype: DType, src: StorageArray): Float32Array {
  if (dtype === 'float32') return src as Float32Array;
  const out = new Float32Array(src.length);
  if (dtype === 'float16') {
    const t = f16ToF32Table();
    for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  } else if (dtype === 'bfloat16') {
    // bfloat16 bits are the top half of the float32's: write them through an integer view (NaN payloads kept)
    const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  } else for (let i = 0; i < src.length; i++) out[i] = src[i];
  return out;
}

/** Encode numbers into a fresh storage array of `dtype` (rounding floats, truncating toward zero for ints like torch casts). */
export function fromNumbers(dtype: DType, src: ArrayLike<number>): StorageArray {
  const out = allocArray(dtype, src.length);
  if (dtype === 'float16') for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
  else if (dtype === 'bfloat16') for (let i = 0; i < src.length; i++) out[i] = f32ToBf16Bits(src[i]);
  else if (dtype === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] ? 1 : 0;
  else if (dtype === 'int32' || dtype === 'uint8') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
  else for (let i = 0; i < src.length; i++) out[i] = src[i];
  return out;
}
