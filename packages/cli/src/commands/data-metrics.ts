/**
 * `segllm data metrics --gt <gt.json> --pred <pred.json> [--frame as-is|padded|original]`: per-round cIoU, mIoU and
 * P@0.5 of predicted masks, printed as one JSON object {"rounds": {"1": {...}, ...}, "overall": {...}}.
 */
import { readFile } from 'node:fs/promises';
import { evaluateRecords, MetricsInputError, readMaskRecords, type MetricsFrame, type MetricsResult } from '@segllm/mrseg';
import { CliUsageError, parseOptions, required } from '../lib/args.ts';
import { guard } from '../lib/errors.ts';
import type { Command } from './index.ts';

const USAGE = `usage: segllm data metrics --gt <gt.json> --pred <pred.json> [--frame as-is|padded|original]

Both files are JSON arrays of {"conv_id", "round" (1-based), "mask": {"size": [h, w], "counts": <COCO RLE string>},
"box": [x0, y0, x1, y1]} (box optional in gt). Missing predictions count as empty masks; duplicate keys, predictions
for keys not in gt and unknown fields are errors.
  --frame as-is     masks of a pair must have the same size (default)
  --frame padded    compare in the 1024x1024 padded frame of the official evaluation (maps what is not in it)
  --frame original  compare at the ground truth's resolution (maps 1024x1024 predictions back)
`;

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MetricsInputError(`${what}: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MetricsInputError(`${what}: ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The command's work, for tests: reads both files and returns the metrics. */
export async function computeMetricsFromFiles(gtPath: string, predPath: string, frame: MetricsFrame = 'as-is'): Promise<MetricsResult> {
  const gt = readMaskRecords(await readJson(gtPath, 'gt'), 'gt', false);
  const pred = readMaskRecords(await readJson(predPath, 'pred'), 'pred', true);
  return evaluateRecords(gt, pred, { frame });
}

export const dataMetricsCommand: Command = {
  path: ['data', 'metrics'],
  summary: 'per-round cIoU / mIoU / P@0.5 of predicted masks against ground truth',
  run: (argv) =>
    guard('data metrics', USAGE, (s) => process.stderr.write(s), async () => {
      const str = { type: 'string' } as const;
      const v = parseOptions(argv, { gt: str, pred: str, frame: str, help: { type: 'boolean', short: 'h' } });
      if (v.help) {
        process.stdout.write(USAGE);
        return 0;
      }
      const frame = v.frame ?? 'as-is';
      if (!['as-is', 'padded', 'original'].includes(frame)) throw new CliUsageError(`--frame must be as-is, padded or original, got "${frame}"`);
      const result = await computeMetricsFromFiles(required(v.gt, 'gt'), required(v.pred, 'pred'), frame as MetricsFrame);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }),
};
