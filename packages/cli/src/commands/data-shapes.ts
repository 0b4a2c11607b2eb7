/** `segllm data shapes`: writes an MRSeg-Shapes dataset (PNG images, COCO annotations, conversations). */
import { ShapesOptionsError, VAL_SEED, writeShapesDataset } from '@segllm/mrseg';
import { CliUsageError, intOption, parseOptions } from '../lib/args.ts';
import { guard } from '../lib/errors.ts';
import type { Command } from './index.ts';

const USAGE = `usage: segllm data shapes --n <count> --seed <s> --out <dir> [--val-n <count>] [--val-seed <s>]
         [--min-size <px>] [--max-size <px>]
  writes <dir>/images/{train,val}/*.png, <dir>/annotations/shapes_{train,val}.json and
  <dir>/conversations/{train,val}/<type>.json; the validation split (default 200 images, seed ${VAL_SEED}) does not
  depend on --seed.
`;

export async function runDataShapes(argv: string[], log: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const str = { type: 'string' } as const;
  const v = parseOptions(argv, { n: str, seed: str, out: str, 'val-n': str, 'val-seed': str, 'min-size': str, 'max-size': str });
  const out = v.out;
  if (!out || v.n === undefined) throw new CliUsageError('--n and --out are required');
  const t0 = performance.now();
  let last = 0;
  const summary = await writeShapesDataset({
    out,
    n: intOption(v.n, 'n', 0),
    seed: intOption(v.seed, 'seed', 0),
    valCount: intOption(v['val-n'], 'val-n', 200),
    valSeed: intOption(v['val-seed'], 'val-seed', VAL_SEED),
    minSize: intOption(v['min-size'], 'min-size', 144),
    maxSize: intOption(v['max-size'], 'max-size', 224),
    onProgress: (split, done, total) => {
      const now = performance.now();
      if (done === total || now - last > 2000) {
        last = now;
        log(`data shapes: ${split} ${done}/${total} images\n`);
      }
    },
  });
  const s = (performance.now() - t0) / 1000;
  for (const [split, v] of Object.entries(summary)) {
    const convs = Object.entries(v.conversations).map(([k, n]) => `${k} ${n}`).join(', ');
    log(`data shapes: ${split}: ${v.images} images, ${v.annotations} annotations, ${v.relationships} relationships, ${v.rounds} rounds; conversations: ${convs}\n`);
  }
  log(`data shapes: wrote ${out} in ${s.toFixed(2)} s\n`);
  return 0;
}

export const dataShapesCommand: Command = {
  path: ['data', 'shapes'],
  summary: 'generate the MRSeg-Shapes synthetic benchmark (images, annotations, conversations)',
  async run(argv) {
    try {
      return await guard('data shapes', USAGE, (s) => process.stderr.write(s), () => runDataShapes(argv));
    } catch (e) {
      if (!(e instanceof ShapesOptionsError)) throw e;
      process.stderr.write(`segllm data shapes: ${e.message}\n`);
      return 2;
    }
  },
};
