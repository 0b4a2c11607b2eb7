/** `segllm data shapes`: writes an MRSeg-Shapes dataset (PNG images, COCO annotations, conversations). */
import { ShapesOptionsError, VAL_SEED, writeShapesDataset } from '@segllm/mrseg';
import { CliUsageError, intFlag, parseFlags } from './data-build.ts';
import type { Command } from './index.ts';

const USAGE = `usage: segllm data shapes --n <count> --seed <s> --out <dir> [--val-n <count>] [--val-seed <s>]
         [--min-size <px>] [--max-size <px>]
  writes <dir>/images/{train,val}/*.png, <dir>/annotations/shapes_{train,val}.json and
  <dir>/conversations/{train,val}/<type>.json; the validation split (default 200 images, seed ${VAL_SEED}) does not
  depend on --seed.
`;

export async function runDataShapes(argv: string[], log: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const flags = parseFlags(argv, ['n', 'seed', 'out', 'val-n', 'val-seed', 'min-size', 'max-size']);
  const out = flags.get('out');
  if (!out || !flags.has('n')) throw new CliUsageError(`--n and --out are required\n${USAGE}`);
  const t0 = performance.now();
  let last = 0;
  const summary = await writeShapesDataset({
    out,
    n: intFlag(flags, 'n', 0),
    seed: intFlag(flags, 'seed', 0),
    valCount: intFlag(flags, 'val-n', 200),
    valSeed: intFlag(flags, 'val-seed', VAL_SEED),
    minSize: intFlag(flags, 'min-size', 144),
    maxSize: intFlag(flags, 'max-size', 224),
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
      return await runDataShapes(argv);
    } catch (e) {
      if (e instanceof CliUsageError || e instanceof ShapesOptionsError) {
        process.stderr.write(`segllm data shapes: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  },
};
