/**
 * Loading a Module from safetensors (a file, a sharded `*.index.json`, or an open TensorStore), tensor by tensor:
 * each checkpoint key has its prefix stripped (or is renamed), is checked against the module's state dict, read,
 * cast to the parameter's dtype and copied into it on the module's backend.
 */
import type { TensorStore } from '../io/index.ts';
import { openCheckpoint } from '../io/index.ts';
import { noGrad } from '../autograd/engine.ts';
import { shapesEqual } from '../shape.ts';
import { isFloat } from '../dtype.ts';
import { fromStorageArray } from '../tensor.ts';
import { copyInto } from '../ops/copy/copy.ts';
import type { Module } from './module.ts';
import { StateDictError } from './module.ts';

export interface LoadSafetensorsOptions {
  /** Checkpoint key prefixes to strip (the first that matches); keys matching none are skipped. E.g. 'model.vision_tower.'. */
  prefix?: string | readonly string[];
  /** Maps a checkpoint key (after prefix stripping) to a module key, or null to skip it. Runs after `prefix`. */
  rename?: (key: string) => string | null;
  /** Reject missing keys and unexpected keys (under the prefix); default true. Wrong shapes are always rejected. */
  strict?: boolean;
}

export interface LoadSafetensorsReport {
  /** Module keys that were loaded. */
  loaded: string[];
  /** Module keys the checkpoint did not provide. */
  missing: string[];
  /** Checkpoint keys under the prefix that the module does not have. */
  unexpected: string[];
  /** Checkpoint keys left alone: outside the prefix, renamed to null, or ignored by the module (num_batches_tracked). */
  skipped: string[];
}

/** A checkpoint tensor whose stored dtype class (float / integer or bool) is not the parameter's. */
export class CheckpointDTypeError extends Error {
  override readonly name = 'CheckpointDTypeError';
}

export async function loadSafetensorsInto(module: Module, source: string | TensorStore, opts: LoadSafetensorsOptions = {}): Promise<LoadSafetensorsReport> {
  const store = typeof source === 'string' ? await openCheckpoint(source) : source;
  try {
    const strict = opts.strict ?? true;
    const prefixes = opts.prefix === undefined ? [''] : typeof opts.prefix === 'string' ? [opts.prefix] : [...opts.prefix];
    const target = module.stateDict();
    const ignored = new Set(ignoredKeys(module));
    const report: LoadSafetensorsReport = { loaded: [], missing: [], unexpected: [], skipped: [] };
    const plan: [string, string][] = []; // [checkpoint key, module key]
    const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
    const badShape = new Set<string>(); // module keys with a wrong-shaped checkpoint tensor
    const wrongClass: string[] = []; // integer/bool stored for a float parameter, or the reverse
    for (const ck of store.keys()) {
      const p = prefixes.find((x) => ck.startsWith(x));
      let mk: string | null = p === undefined ? null : ck.slice(p.length);
      if (mk !== null && opts.rename) mk = opts.rename(mk);
      if (mk === null || ignored.has(mk)) {
        report.skipped.push(ck);
        continue;
      }
      const t = target.get(mk);
      if (!t) {
        report.unexpected.push(ck);
        continue;
      }
      const info = await store.info(ck);
      if (!shapesEqual(info.shape, t.shape)) {
        mismatched.push({ key: ck, expected: [...t.shape], got: info.shape });
        badShape.add(mk);
      } else plan.push([ck, mk]);
      if (info.dtype === null || isFloat(info.dtype) !== isFloat(t.dtype)) wrongClass.push(`${ck} (stored ${info.storedDtype}, the module holds ${t.dtype})`);
    }
    if (wrongClass.length) {
      const more = wrongClass.length > 5 ? `, ... (${wrongClass.length - 5} more)` : '';
      throw new CheckpointDTypeError(`checkpoint tensors stored with a dtype of another kind than the module's: ${wrongClass.slice(0, 5).join(', ')}${more}; the file is corrupt or not this model's`);
    }
    const planned = new Set(plan.map(([, mk]) => mk));
    report.missing = [...target.keys()].filter((k) => !planned.has(k) && !badShape.has(k));
    if (mismatched.length || (strict && (report.missing.length || report.unexpected.length))) {
      throw new StateDictError(strict ? report.missing : [], strict ? report.unexpected : [], mismatched, 'loading safetensors');
    }
    for (const [ck, mk] of plan) {
      const raw = await store.read(ck);
      const dst = target.get(mk)!;
      noGrad(() => {
        const src = fromStorageArray(raw.data, raw.shape, raw.dtype, { backend: dst.backend });
        copyInto(dst, src);
        src.dispose();
      });
      report.loaded.push(mk);
    }
    return report;
  } finally {
    if (typeof source === 'string') await store.close();
  }
}

/** Full keys that modules accept without holding (see Module.ignoredStateKeys). */
function ignoredKeys(module: Module): string[] {
  const out: string[] = [];
  for (const [prefix, m] of module.namedModules()) {
    const own = (m as unknown as { ignoredStateKeys(): readonly string[] }).ignoredStateKeys();
    for (const k of own) out.push(prefix ? `${prefix}.${k}` : k);
  }
  return out;
}
