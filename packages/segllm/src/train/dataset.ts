/**
 * Training conversations on disk: MRSeg conversation files (each a "dataset" for the sampler, as upstream's
 * conversation config), COCO-format annotation files for the mask ids, and an image folder. Written for the layout
 * of `segllm data build` / `segllm data shapes` (images/, annotations/*.json, conversations/<split>/<type>.json).
 *
 * A conversation that cannot become a sample (missing image, unknown annotation id, empty mask, too long, bad
 * markup) is a TrainSampleError; `batch()` collects those as counted skips so a long run never stops on one.
 * Node only (reads files).
 */
import { ImageDecodeError, readImageFile } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import { CocoIndex, parseJson, readCocoInstances, rngFor } from '@segllm/mrseg';
import type { RleMask } from '@segllm/mrseg';
import { TrainDataError, TrainSampleError, type TrainSampleProblem } from './errors.ts';
import type { BatchDraw } from './sampler.ts';
import { buildTrainSample, type SampleOptions, type TrainSample } from './samples.ts';

export interface TrainDatasetOptions extends SampleOptions {
  /** Folder the `[IMAGE256:<path>]` paths are relative to. */
  images: string;
  /**
   * COCO-format annotation files whose annotation ids the conversations name: a list (searched in order, for any
   * dataset name), or files per dataset name as written in the markup (`{refcocog: [...], lvis: [...]}`), which
   * keeps ids of different sources apart as the official loader does.
   */
  annotations: readonly string[] | Readonly<Record<string, string | readonly string[]>>;
}

interface ConversationFile {
  path: string;
  items: unknown[];
}

async function readJson(path: string, what: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new TrainDataError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return parseJson(bytes, `${what} ${path}`);
  } catch (e) {
    throw new TrainDataError((e as Error).message);
  }
}

export class TrainDataset {
  /** Skipped conversations by problem, over the dataset's life. */
  readonly skips: Record<string, number> = {};
  #images = new Map<string, Image8>();

  private constructor(
    readonly files: readonly ConversationFile[],
    private readonly coco: Map<string | null, CocoIndex[]>,
    private readonly opts: TrainDatasetOptions,
  ) {}

  static async open(files: readonly string[], opts: TrainDatasetOptions): Promise<TrainDataset> {
    if (files.length === 0) throw new TrainDataError('no conversation files: name at least one');
    const convs: ConversationFile[] = [];
    for (const path of files) {
      const items = await readJson(path, 'conversation file');
      if (!Array.isArray(items) || items.length === 0) throw new TrainDataError(`conversation file ${path} must be a non-empty JSON array`);
      convs.push({ path, items });
    }
    const coco = new Map<string | null, CocoIndex[]>();
    const groups: [string | null, readonly string[]][] = Array.isArray(opts.annotations)
      ? [[null, opts.annotations as readonly string[]]]
      : Object.entries(opts.annotations).map(([ds, f]) => [ds, typeof f === 'string' ? [f] : f]);
    for (const [ds, paths] of groups) {
      const list: CocoIndex[] = [];
      for (const path of paths) {
        try {
          list.push(new CocoIndex(readCocoInstances(await readJson(path, 'annotation file'))));
        } catch (e) {
          throw e instanceof TrainDataError ? e : new TrainDataError(`annotation file ${path}: ${(e as Error).message}`);
        }
      }
      coco.set(ds, list);
    }
    return new TrainDataset(convs, coco, opts);
  }

  /** Conversations per file (the sampler's dataset sizes). */
  get sizes(): number[] {
    return this.files.map((f) => f.items.length);
  }

  #mask = (id: number | string, dataset: string): RleMask | undefined => {
    if (typeof id !== 'number') return undefined;
    const list = this.coco.get(null) ?? this.coco.get(dataset) ?? [];
    return list.find((c) => c.annotations.has(id))?.mask(id);
  };

  async #image(path: string, fail: (p: TrainSampleProblem, d: string) => never): Promise<Image8> {
    const hit = this.#images.get(path);
    if (hit) return hit;
    let img: Image8;
    try {
      img = await readImageFile(`${this.opts.images}/${path}`);
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      const missing = (e.cause as { code?: string } | undefined)?.code === 'ENOENT';
      fail(missing ? 'missing-image' : 'bad-image', e.message);
    }
    if (this.#images.size >= 4) this.#images.delete(this.#images.keys().next().value as string);
    this.#images.set(path, img);
    return img;
  }

  /** Sample `index` of file `file`, its random choices seeded by `seed`; throws TrainSampleError. */
  async sample(file: number, index: number, seed: number): Promise<TrainSample> {
    const f = this.files[file];
    if (!f || !Number.isInteger(index) || index < 0 || index >= f.items.length) {
      throw new TrainDataError(`no conversation ${index} in file ${file} (${f ? `${f.items.length} conversations` : `${this.files.length} files`})`);
    }
    const item = f.items[index] as { conv_id?: unknown; conversations?: { value?: unknown }[] } | null;
    const convId = typeof item?.conv_id === 'string' || typeof item?.conv_id === 'number' ? String(item.conv_id) : `#${index}`;
    const fail: (p: TrainSampleProblem, d: string) => never = (p, d) => {
      throw new TrainSampleError(p, f.path, convId, d);
    };
    const first = item?.conversations?.[0]?.value;
    const m = typeof first === 'string' ? /\[IMAGE256:([^\]]+)\]/.exec(first) : null;
    if (!m) fail('format', 'the first human turn has no [IMAGE256:<path>]');
    const image = await this.#image(m[1], fail);
    return buildTrainSample(item, image, this.#mask, this.opts, rngFor(seed, 'sample'), { file: f.path, convId });
  }

  /** The samples of a sampler draw; conversations that fail are returned (and counted) as skips. */
  async batch(draw: BatchDraw): Promise<{ samples: TrainSample[]; skipped: TrainSampleError[] }> {
    const samples: TrainSample[] = [];
    const skipped: TrainSampleError[] = [];
    for (const [i, index] of draw.indices.entries()) {
      try {
        samples.push(await this.sample(draw.dataset, index, draw.seeds[i]));
      } catch (e) {
        if (!(e instanceof TrainSampleError)) throw e;
        skipped.push(e);
        this.skips[e.problem] = (this.skips[e.problem] ?? 0) + 1;
      }
    }
    return { samples, skipped };
  }
}
