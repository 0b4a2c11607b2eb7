/**
 * Minimal safetensors reader for test fixtures and golden scripts: 8-byte little-endian header length, JSON
 * header, raw little-endian tensor data. (The full reader lives in @segllm/tensor; this one has no dependencies.)
 */
export type MiniTensorData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

export interface MiniTensor {
  dtype: string;
  shape: number[];
  data: MiniTensorData;
}

export class MiniSafetensorsError extends Error {
  override readonly name = 'MiniSafetensorsError';
}

const DTYPES: Record<string, { bytes: number; make: (b: ArrayBuffer) => MiniTensorData }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b) },
  F64: { bytes: 8, make: (b) => new Float64Array(b) },
  U8: { bytes: 1, make: (b) => new Uint8Array(b) },
  I32: { bytes: 4, make: (b) => new Int32Array(b) },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b) },
};

export function readMiniSafetensors(bytes: Uint8Array): { tensors: Map<string, MiniTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new MiniSafetensorsError(`not a safetensors file: only ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw new MiniSafetensorsError(`not a safetensors file: header length ${n} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch {
    throw new MiniSafetensorsError('not a safetensors file: the header is not JSON');
  }
  const tensors = new Map<string, MiniTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dt = DTYPES[e.dtype];
    if (dt === undefined) throw new MiniSafetensorsError(`tensor ${name}: unsupported dtype ${e.dtype}`);
    const [a, b] = e.data_offsets;
    const count = e.shape.reduce((x, y) => x * y, 1);
    if (b - a !== count * dt.bytes || 8 + n + b > bytes.length) throw new MiniSafetensorsError(`tensor ${name}: bad data_offsets`);
    const copy = new Uint8Array(b - a); // a copy: aligned, and detached from Node Buffer pools
    copy.set(bytes.subarray(8 + n + a, 8 + n + b));
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: dt.make(copy.buffer) });
  }
  return { tensors, metadata };
}
