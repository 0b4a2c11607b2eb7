/**
 * Release-layout checkpoints (`Marlo-Z/SegLLM/<variant>`): config.json, tokenizer.json, model.safetensors.index.json
 * and shards. Loading is strict except for keys the released model carries but never runs (HIPIE's BERT text
 * encoder, its loss bookkeeping, CLIP's unused visual projection), which are skipped on purpose and reported.
 * Saving writes the same layout into a temporary sibling folder and swaps it into place (replace.ts).
 */
import { Tokenizer, parseClipVisionConfig } from '@segllm/models';
import type { DType, RawTensor, TensorStore } from '@segllm/tensor';
import { defaultBackendName, loadSafetensorsInto, saveSafetensors, withoutInit, noGrad } from '@segllm/tensor';
import { nodeFs, nodePath } from '@segllm/tensor/platform';
import { CheckpointError, DownloadAbortedError } from './errors.ts';
import { checkDtype, initDevice, type Device, type ModelDType } from './device.ts';
import { parseSegLLMConfig } from './model/config.ts';
import type { SegLLMConfig } from './model/config.ts';
import { SegLLMForSegmentation } from './model/modeling.ts';
import type { MaskDecoder } from './model/decoder.ts';
import { SegLLM } from './segllm.ts';
import { HipieDecoder, hipieRename } from './model/hipie.ts';
import { checkpointFiles } from './files.ts';
import { DirReplaceError, recoverReplacedDir, replaceDirAtomically } from './replace.ts';
import type { CheckpointFiles, CheckpointSource, FileProgress, RemoteOptions } from './files.ts';

/** Keys of the release that SegLLM never uses (skipped on purpose). */
export const UNUSED_KEYS: readonly RegExp[] = [
  /^model\.segmentator\.hipie\.text_encoder\./, // HIPIE's BERT: constructed and saved, never run (forward_text is replaced)
  /^model\.segmentator\.hipie\.criterion\./, // loss bookkeeping buffers
  /^model\.vision_tower\.vision_tower\.visual_projection\./, // CLIPVisionModelWithProjection's 1024 -> 768, unused
  /\.num_batches_tracked$/,
];

/**
 * Progress in bytes: 'download' while remote files arrive (per file, and over the files started so far), then
 * 'load' while tensors are read into the model (over all the checkpoint's tensor bytes).
 */
export interface LoadProgress {
  phase: 'download' | 'load';
  /** The file being downloaded, or the tensor just read. */
  name: string;
  /** Bytes of this file so far and in all (download; total 0 while unknown); the tensor's bytes twice (load). */
  fileLoaded: number;
  fileTotal: number;
  /** Bytes of the phase so far and in all (download: of the files started so far). */
  loaded: number;
  total: number;
  /** Download: the file came from the cache (no request). */
  fromCache?: boolean;
}

export interface SegLLMLoadOptions extends Omit<RemoteOptions, 'onFile'> {
  /**
   * Where to run: 'auto' (WebGPU when an adapter exists, else WebAssembly), 'webgpu', 'cpu-wasm' or 'cpu'. Default: the
   * process's default backend ('cpu' unless setDefaultBackend changed it).
   */
  device?: Device;
  /** A backend name already started (overrides device). */
  backend?: string;
  /** Parameter dtype (checkpoint tensors are cast at load): float32 (default), or float16 (GPUs with shader-f16). */
  dtype?: ModelDType;
  /** Progress in bytes (download, then load). */
  progress?: (p: LoadProgress) => void;
  /** Same as progress (older name). */
  onProgress?: (p: LoadProgress) => void;
  /** The CLIP tower (config.json + safetensors, HF `openai/clip-vit-large-patch14`) when the checkpoint lacks it. */
  visionTower?: CheckpointSource;
  /** Builds the mask decoder for a config (default: HIPIE-R50 with the config's sizes). */
  decoder?: (config: SegLLMConfig, opts: { dtype?: DType; backend?: string }) => MaskDecoder;
  /**
   * Maps a decoder checkpoint key (below `model.segmentator.hipie.`) to a module key, or null to skip it on purpose
   * (default: the HIPIE transformer's x0 resizer and head aliases, see hipieRename). `has` tells whether the checkpoint holds a key.
   */
  decoderRename?: (key: string, has: (k: string) => boolean) => string | null;
}

export interface SegLLMLoadReport {
  loaded: number;
  /** Keys skipped on purpose (UNUSED_KEYS, decoder aliases). */
  skipped: string[];
  /** The backend the model runs on. */
  backend: string;
}

/** Download progress over every file started so far. */
function downloadProgress(report?: (p: LoadProgress) => void): ((f: FileProgress) => void) | undefined {
  if (!report) return undefined;
  const files = new Map<string, { loaded: number; total: number }>();
  return (f) => {
    files.set(f.file, { loaded: f.loaded, total: Math.max(f.total, f.loaded) });
    let loaded = 0;
    let total = 0;
    for (const v of files.values()) {
      loaded += v.loaded;
      total += v.total;
    }
    report({ phase: 'download', name: f.file, fileLoaded: f.loaded, fileTotal: f.total, loaded, total, fromCache: f.fromCache });
  };
}

/** A store that reports the bytes of each tensor read and stops at an abort. Opening it sizes every tensor. */
async function withProgress(store: TensorStore, report?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<TensorStore & { done(): void }> {
  if (!report && !signal) return Object.assign(store, { done: () => undefined });
  const sizes = new Map<string, number>();
  let total = 0;
  for (const k of store.keys()) {
    const b = (await store.info(k)).byteLength;
    sizes.set(k, b);
    total += b;
  }
  let loaded = 0;
  return {
    metadata: store.metadata,
    keys: () => store.keys(),
    has: (k) => store.has(k),
    info: (k) => store.info(k),
    read: async (k) => {
      if (signal?.aborted) throw new DownloadAbortedError('loading was aborted', k);
      const r = await store.read(k);
      const b = sizes.get(k) ?? 0;
      loaded += b;
      report?.({ phase: 'load', name: k, fileLoaded: b, fileTotal: b, loaded, total });
      return r;
    },
    close: () => store.close(),
    // Keys skipped on purpose are never read: the last event says the whole checkpoint is done.
    done: () => void (loaded < total && report?.({ phase: 'load', name: '', fileLoaded: 0, fileTotal: 0, loaded: total, total })),
  };
}

/** The release's decoder for a config: HIPIE-R50 at `model.segmentator.hipie`. */
export function defaultDecoder(config: SegLLMConfig, opts: { dtype?: DType; backend?: string } = {}): MaskDecoder {
  return new HipieDecoder(config.hipie, config.hipie_image_size, opts);
}

/** The token embedding must exist with the config's [vocab_size, hidden_size] (a 4M-token config fails here, cheaply). */
async function checkEmbedding(store: TensorStore, config: SegLLMConfig, dir: string): Promise<void> {
  const key = 'model.embed_tokens.weight';
  const { vocab_size: vocab, hidden_size: hidden } = config.llava.llm;
  if (!store.has(key)) throw new CheckpointError(`${dir} holds no ${key} (${store.keys().length} tensors): it is not a SegLLM checkpoint, or its weights are missing`);
  const shape = (await store.info(key)).shape;
  if (shape.length !== 2 || shape[0] !== vocab || shape[1] !== hidden) {
    throw new CheckpointError(`${dir}: config.json says vocab_size ${vocab} and hidden_size ${hidden}, but ${key} is [${shape.join(', ')}]: the config does not belong to these weights`);
  }
}

async function configOf(f: CheckpointFiles): Promise<string> {
  const t = await f.text('config.json');
  if (t === null) throw new CheckpointError(`${f.label} has no config.json: point at the checkpoint folder (it holds config.json, tokenizer.json and the safetensors)`);
  return t;
}

/**
 * Loads a checkpoint in the release layout from a folder (Node), a base URL, or a map of file name -> Blob/bytes.
 * Strict except for UNUSED_KEYS and the decoder's skipped keys (reported).
 */
export async function loadSegLLM(source: CheckpointSource, o: SegLLMLoadOptions = {}): Promise<{ model: SegLLM; report: SegLLMLoadReport }> {
  if (typeof source === 'string' && !/^https?:\/\//.test(source)) await recoverReplacedDir(source); // a save killed mid-swap
  const dtype = checkDtype(o.dtype ?? 'float32');
  const report = o.progress ?? o.onProgress;
  const remote: RemoteOptions = { ...o, onFile: downloadProgress(report) };
  const files = checkpointFiles(source, remote);
  const dir = files.label;
  const towerFiles = o.visionTower !== undefined ? checkpointFiles(o.visionTower, remote) : null;
  const vision = towerFiles ? parseClipVisionConfig(await configOf(towerFiles)) : undefined;
  const config = parseSegLLMConfig(await configOf(files), vision);
  const tokText = await files.text('tokenizer.json');
  if (tokText === null) {
    throw new CheckpointError(`${dir} has no tokenizer.json: SegLLM needs the checkpoint's own tokenizer (vocab ${config.llava.llm.vocab_size}, with <video> and <seg>)`);
  }
  const tokenizer = Tokenizer.fromString(tokText);
  const backend = o.backend ?? (o.device === undefined ? defaultBackendName() : await initDevice(o.device));
  const init = { dtype, backend };
  // The weights are opened (downloaded) and checked against the config before the model is allocated.
  const raw = await files.store();
  const store = await withProgress(raw, report, o.signal).catch(async (e: unknown) => {
    await raw.close();
    throw e;
  });
  const skipped: string[] = [];
  let loaded = 0;
  let net: SegLLMForSegmentation | undefined;
  try {
    await checkEmbedding(store, config, dir);
    const hasTower = store.keys().some((k) => k.startsWith('model.vision_tower.vision_tower.vision_model.'));
    if (!hasTower && !towerFiles) {
      throw new CheckpointError(`${dir} does not carry the CLIP tower (model.vision_tower.*): pass visionTower: <folder of openai/clip-vit-large-patch14>`);
    }
    net = withoutInit(() => new SegLLMForSegmentation(config, (o.decoder ?? defaultDecoder)(config, init), init));
    const keySet = new Set(store.keys());
    const has = (k: string) => keySet.has(k);
    const seen = new Set<string>();
    const rename = (k: string): string | null => {
      const skip = () => {
        if (!seen.has(k)) skipped.push(k);
        seen.add(k);
        return null;
      };
      if (UNUSED_KEYS.some((r) => r.test(k))) return skip();
      const hp = 'model.segmentator.hipie.';
      if (k.startsWith(hp)) {
        const r = (o.decoderRename ?? hipieRename)(k.slice(hp.length), has);
        if (r === null) return skip();
        return hp + r;
      }
      return k;
    };
    const towerPrefix = 'model.vision_tower.vision_tower.vision_model.';
    const r = await loadSafetensorsInto(net, store, { rename, strict: false });
    loaded += r.loaded.length;
    let missing = r.missing;
    if (!hasTower && towerFiles) {
      const towerStore = await towerFiles.store();
      try {
        const tr = await loadSafetensorsInto(net.clip, towerStore, { prefix: ['vision_model.', ''], rename: (k) => (k.startsWith('visual_projection.') ? null : k), strict: false });
        loaded += tr.loaded.length;
        const got = new Set(tr.loaded.map((k) => towerPrefix + k));
        missing = missing.filter((k) => !got.has(k));
      } finally {
        await towerStore.close();
      }
    }
    if (missing.length || r.unexpected.length) {
      const list = (a: string[]) => a.slice(0, 10).join(', ') + (a.length > 10 ? `, ... (${a.length - 10} more)` : '');
      throw new CheckpointError(
        `checkpoint ${dir} does not match the model built from its config.json:` +
          (missing.length ? `\n  missing (${missing.length}): ${list(missing)}` : '') +
          (r.unexpected.length ? `\n  unexpected (${r.unexpected.length}): ${list(r.unexpected)}` : ''),
      );
    }
    store.done();
  } catch (e) {
    net?.dispose();
    throw e;
  } finally {
    await store.close();
  }
  return { model: new SegLLM(net, tokenizer), report: { loaded, skipped, backend } };
}

export interface SaveOptions {
  /** Number of shards (default 2). */
  shards?: number;
  /** Storage dtype of floating tensors (default bfloat16, as the release). */
  dtype?: 'float32' | 'float16' | 'bfloat16';
  /** The config.json object to write (default: the one the model was parsed from is not kept, so pass it). */
  configJson: Record<string, unknown>;
  tokenizerJson: string;
  /** Extra tensors to store (e.g. the release's unused BERT keys, for tests). */
  extra?: Record<string, RawTensor>;
}

/** The files of the release layout that saveSegLLM writes (a folder holding only these is a checkpoint). */
const RELEASE_FILE = /^(config\.json|tokenizer\.json|model\.safetensors\.index\.json|model\.safetensors|model-\d{5}-of-\d{5}\.safetensors)$/;

/** Whether a folder's entries are a release-layout checkpoint (saveSegLLM may replace it). */
export function isReleaseLayout(entries: string[]): boolean {
  return entries.includes('config.json') && entries.every((e) => RELEASE_FILE.test(e));
}

/**
 * Writes the release layout into `dir` through replaceDirAtomically: the old checkpoint stays complete until the new
 * one is in place; a non-empty `dir` that is not a release-layout checkpoint is refused (CheckpointError).
 */
export async function saveSegLLM(model: SegLLM, dir: string, o: SaveOptions): Promise<void> {
  try {
    await replaceDirAtomically(dir, (tmp) => writeRelease(model, tmp, o), { owns: isReleaseLayout, what: 'checkpoint' });
  } catch (e) {
    if (e instanceof DirReplaceError) throw new CheckpointError(e.message, { cause: e });
    throw e;
  }
}

async function writeRelease(model: SegLLM, tmp: string, o: SaveOptions): Promise<void> {
  const fs = await nodeFs(`saving to ${tmp}`);
  const path = await nodePath(`saving to ${tmp}`);
  const sd = model.model.stateDict();
  const entries: [string, RawTensor][] = [];
  for (const [k, t] of sd) {
    const isF = t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'float64';
    const c = noGrad(() => (isF && t.dtype !== (o.dtype ?? 'bfloat16') ? t.to(o.dtype ?? 'bfloat16') : t.contiguous()));
    const data = await c.rawData();
    entries.push([k, { dtype: c.dtype, shape: [...c.shape], data }]);
    c.dispose();
  }
  for (const [k, v] of Object.entries(o.extra ?? {})) entries.push([k, v]);
  const n = Math.max(1, o.shards ?? 2);
  const per = Math.ceil(entries.length / n);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let s = 0; s < n; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const part = entries.slice(s * per, (s + 1) * per);
    for (const [k, v] of part) {
      weightMap[k] = file;
      total += v.data.byteLength;
    }
    await saveSafetensors(path.join(tmp, file), new Map(part), { format: 'pt' });
  }
  await fs.writeFile(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(o.configJson, null, 2));
  await fs.writeFile(path.join(tmp, 'tokenizer.json'), o.tokenizerJson);
}
