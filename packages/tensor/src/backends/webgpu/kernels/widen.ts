/**
 * Half-precision forms of the float32-only scatter kernels (the backwards that accumulate with compare-and-swap
 * float atomics: interpolate_backward, grid_sample_backward, ms_deform_attn_backward). WGSL has atomics on i32/u32
 * only, and a float16 tensor stores one `f16` per 2-byte slot, so two elements share each 32-bit word: a
 * compare-and-swap on the word would need the buffer bound a second time as `array<atomic<u32>>` (aliased writable
 * bindings are not allowed) and would round every partial sum to f16. Instead `widenToF32` runs the float32 kernel
 * on f32 copies (inputs converted, outputs accumulated in f32) and rounds each output once into the f16/bf16 view,
 * which is what the CPU does (it widens half dtypes to f32 around kernels).
 */
import type { View } from '../../../backend.ts';
import type { KernelFn, KernelName } from '../../../kernels.ts';
import { bufOf, rt } from '../backend.ts';
import { copyConvert } from './elementwise.ts';

const isHalf = (v: View) => v.dtype === 'float16' || v.dtype === 'bfloat16';

export function widenToF32<K extends KernelName>(fn: KernelFn<K>, name: string): KernelFn<K> {
  return (inputs, outputs, attrs) => {
    if (![...inputs, ...outputs].some(isHalf)) {
      fn(inputs, outputs, attrs);
      return;
    }
    const r = rt();
    r.variant(`${name}:f16-via-f32`);
    const temps: View[] = [];
    const wide = (v: View): View => {
      const n = v.shape.reduce((a, d) => a * d, 1);
      const buf = r.acquire(Math.max(4, n * 4));
      const strides = v.shape.map((_, i) => v.shape.slice(i + 1).reduce((a, d) => a * d, 1));
      const t: View = { storage: { ...v.storage, dtype: 'float32', numel: n, handle: buf }, dtype: 'float32', shape: v.shape, strides, offset: 0 };
      temps.push(t);
      return t;
    };
    try {
      const ins = inputs.map((v) => {
        if (!isHalf(v)) return v;
        const t = wide(v);
        copyConvert(v, t);
        return t;
      });
      const outs = outputs.map((v) => (isHalf(v) ? wide(v) : v));
      fn(ins, outs, attrs);
      outputs.forEach((v, j) => {
        if (outs[j] !== v) copyConvert(outs[j], v);
      });
    } finally {
      for (const t of temps) r.release(bufOf(t));
    }
  };
}
