/**
 * Loading HIPIE weights (segllm-reference.md 9.3). A SegLLM checkpoint keeps the decoder under
 * `model.segmentator.hipie.detr.`; bare exports (make_hipie_goldens.py) start at `detr.` / `controller.` / `mask_head.`.
 * Strict, except for keys skipped on purpose and reported: HIPIE's BERT text encoder (`model.segmentator.hipie.
 * text_encoder.*`, never run by SegLLM) and other non-detr keys of the segmentator (criterion buffers), the
 * transformer's FeatureResizer (`detr.transformer.resizer.*`: only a x0 term uses it), and the
 * decoder's aliases of the detr head lists (`detr.transformer.decoder.{class_embed,bbox_embed}.*`), which are loaded
 * from the alias only when the checkpoint lacks the `detr.{class_embed,bbox_embed}.*` name. The DN label encoder
 * `resizer.*` is loaded strictly when the model has one (config dn_resizer).
 */
import type { RawTensor, TensorStore } from '@segllm/tensor';
import { openSafetensors, serializeSafetensors } from '@segllm/tensor';
import { loadCheckpoint, openModelCheckpoint } from '../checkpoint/load.ts';
import type { LoadCheckpointReport } from '../checkpoint/load.ts';
import type { InitOptions } from '../nn.ts';
import type { HipieConfig } from './config.ts';
import { HIPIE_R50, parseHipieConfig } from './config.ts';
import { HipieModel } from './model.ts';

export const HIPIE_PREFIXES = ['model.segmentator.hipie.detr.', 'segmentator.hipie.detr.', 'hipie.detr.', ''] as const;
const SEGMENTATOR = 'model.segmentator.hipie.';
const ALIAS = /^detr\.transformer\.decoder\.(class_embed|bbox_embed)\./;

export interface HipieLoadReport extends LoadCheckpointReport {
  /** Checkpoint keys deliberately not loaded, by reason. */
  skippedOnPurpose: { bert: string[]; otherSegmentator: string[]; resizer: string[]; alias: string[] };
}

/** Loads HIPIE weights into `model` from a path (file, index or folder) or an open store. */
export async function loadHipie(model: HipieModel, source: string | TensorStore, o: { strict?: boolean } = {}): Promise<HipieLoadReport> {
  const store = typeof source === 'string' ? await openModelCheckpoint(source) : source;
  try {
    const keys = new Set(store.keys());
    const skip: HipieLoadReport['skippedOnPurpose'] = { bert: [], otherSegmentator: [], resizer: [], alias: [] };
    const resizer = new Set<string>();
    const alias = new Set<string>(); // rename runs more than once per key (prefix choice, then loading)
    for (const k of keys) {
      if (k.startsWith(SEGMENTATOR) && !k.startsWith(`${SEGMENTATOR}detr.`)) (k.startsWith(`${SEGMENTATOR}text_encoder.`) ? skip.bert : skip.otherSegmentator).push(k);
    }
    const prefix = HIPIE_PREFIXES.find((p) => p !== '' && [...keys].some((k) => k.startsWith(p))) ?? '';
    const rename = (k: string): string | null => {
      if (k.startsWith('detr.transformer.resizer.')) {
        resizer.add(prefix + k);
        return null;
      }
      if (ALIAS.test(k)) {
        const target = k.replace('detr.transformer.decoder.', 'detr.');
        if (keys.has(prefix + target)) {
          alias.add(prefix + k);
          return null;
        }
        return target;
      }
      return k;
    };
    const r = await loadCheckpoint(model, store, { prefixes: [prefix], rename, strict: o.strict });
    return { ...r, skippedOnPurpose: { ...skip, resizer: [...resizer], alias: [...alias] } };
  } finally {
    if (typeof source === 'string') await store.close();
  }
}

/** The config recorded in a weights file's metadata (`about.config`), over `base`; null when there is none. */
export async function readHipieConfig(path: string, base: HipieConfig = HIPIE_R50): Promise<HipieConfig | null> {
  const f = await openSafetensors(path);
  try {
    const about = f.metadata.about;
    if (typeof about !== 'string') return null;
    const cfg = (JSON.parse(about) as { config?: Record<string, unknown> }).config;
    return cfg ? parseHipieConfig({ dn_resizer: false, ...cfg }, base) : null;
  } finally {
    await f.close();
  }
}

/** Builds a HIPIE model and loads it (config from metadata when present, else `config`). */
export async function buildHipie(path: string, o: InitOptions & { config?: HipieConfig; strict?: boolean } = {}): Promise<{ model: HipieModel; report: HipieLoadReport }> {
  const config = o.config ?? (path.endsWith('.safetensors') ? await readHipieConfig(path) : null) ?? HIPIE_R50;
  const model = new HipieModel(config, o);
  try {
    const report = await loadHipie(model, path, { strict: o.strict });
    return { model, report };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The model's weights as safetensors bytes (keys as bare exports: `detr.*`, `controller.*`, `mask_head.*`), with the
 * config in metadata `about.config` so that readHipieConfig / buildHipie rebuild the same model.
 */
export async function serializeHipie(model: HipieModel): Promise<Uint8Array> {
  const tensors: Record<string, RawTensor> = {};
  for (const [k, t] of model.stateDict()) {
    const f = t.dtype === 'float16' || t.dtype === 'bfloat16' ? t.to('float32') : t; // half weights are saved widened
    tensors[k] = { dtype: f.dtype, shape: [...t.shape], data: await f.data() };
    if (f !== t) f.dispose();
  }
  return serializeSafetensors(tensors, { about: JSON.stringify({ config: model.config }) });
}
