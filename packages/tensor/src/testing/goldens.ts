/** Loading safetensors reference files into tensors on a backend (int64 arrives as int32). */
import { deserializeSafetensors, openSafetensors } from '../io/index.ts';
import type { Tensor } from '../tensor.ts';
import { fromStorageArray } from '../tensor.ts';
import type { Backend } from '../backend.ts';

export class Goldens {
  constructor(
    readonly tensors: Map<string, Tensor>,
    readonly metadata: Record<string, string>,
  ) {}

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new RangeError(`golden tensor '${name}' is missing; the file has: ${[...this.tensors.keys()].slice(0, 20).join(', ')}...`);
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/** Reads a whole safetensors file (path or bytes) into tensors on `backend` (default: the default backend). */
export async function loadGoldens(source: string | Uint8Array, backend?: string | Backend): Promise<Goldens> {
  const map = new Map<string, Tensor>();
  if (typeof source === 'string') {
    const f = await openSafetensors(source);
    try {
      for (const name of f.keys()) {
        const raw = await f.read(name);
        map.set(name, fromStorageArray(raw.data, raw.shape, raw.dtype, { backend }));
      }
      return new Goldens(map, f.metadata);
    } finally {
      await f.close();
    }
  }
  const all = deserializeSafetensors(source);
  for (const [name, raw] of Object.entries(all.tensors)) map.set(name, fromStorageArray(raw.data, raw.shape, raw.dtype, { backend }));
  return new Goldens(map, all.metadata);
}
