/**
 * `segllm train --config <file> [--resume]`: trains SegLLM with the official recipe (teacher forcing, text loss +
 * HIPIE losses) as the config file says. On a terminal a progress line (step, loss terms, samples/s, ETA); otherwise
 * one JSON line per log step. Checkpoints, `latest.json` and `loss.svg` go to the config's `out` folder; --resume
 * continues from `latest.json` bit for bit. With an `eval` block, the validation metrics every `eval.every` steps go
 * into trainer.json's history and are printed (a line on a terminal, `{"event": "eval", ...}` otherwise).
 */
import type { LogRecord } from '@segllm/core/train';
import { guard } from '../lib/errors.ts';
import { CliUsageError, parseOptions, required } from '../lib/args.ts';
import { processIo, type Io } from '../lib/io.ts';
import type { Command } from './index.ts';

export const TRAIN_USAGE = `usage: segllm train --config <train.json> [--resume] [--until <step>]
  Trains SegLLM as the config says (model: a config.json to train from scratch, or "from": a checkpoint; data: MRSeg
  conversation files, annotations, images; steps, batch, lr, freeze, eval, backend). Writes <out>/step-N checkpoints
  (load them with segllm chat --model), <out>/latest.json and <out>/loss.svg. --resume continues from latest.json.
  --until stops after that step (with a checkpoint) without changing the schedule: resume later with --resume.
`;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** One progress line: step/total, losses, throughput and ETA. */
export function progressLine(r: LogRecord, total: number, secsPerStep: number): string {
  const pct = Math.floor((100 * r.step) / total);
  const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
  const seg = r.seg === null ? '' : ` seg ${r.seg.toFixed(3)}`;
  return `[${bar}] ${r.step}/${total} loss ${r.loss.toFixed(3)} (text ${r.text.toFixed(3)}${seg}) ${r.samplesPerSec.toFixed(2)} samples/s ETA ${fmtDuration((total - r.step) * secsPerStep)}`;
}

/** Evaluation metrics on one line: `positional mIoU 0.412 cIoU 0.398 P@0.5 0.450; ...`. */
export function evalLine(metrics: Record<string, number>): string {
  const files = new Map<string, string[]>();
  for (const [k, v] of Object.entries(metrics)) {
    const [file, name] = [k.slice(0, k.lastIndexOf('/')), k.slice(k.lastIndexOf('/') + 1)];
    if (name !== 'n') files.set(file, [...(files.get(file) ?? []), `${name} ${v.toFixed(3)}`]);
  }
  return [...files].map(([f, parts]) => `${f} ${parts.join(' ')}`).join('; ');
}

export async function runTrain(argv: string[], io: Io = processIo, tty = process.stdout.isTTY === true): Promise<number> {
  return guard('train', TRAIN_USAGE, io.err, async () => {
    const v = parseOptions(argv, { config: { type: 'string' }, resume: { type: 'boolean' }, until: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (v.help) {
      io.out(TRAIN_USAGE);
      return 0;
    }
    const { readTrainConfig, prepareTrainRun, trainEvalHooks } = await import('@segllm/core/train');
    const config = await readTrainConfig(required(v.config, 'config'));
    const until = v.until === undefined ? config.steps : Number(v.until);
    if (!Number.isInteger(until) || until < 1) throw new CliUsageError(`--until must be a positive integer step, got "${v.until}"`);
    const run = await prepareTrainRun(config, { resume: v.resume === true });
    const say = (s: string) => (tty ? io.err(`${s}\n`) : io.out(`${JSON.stringify({ event: 'info', message: s })}\n`));
    say(`training ${config.out} on ${config.backend}: ${run.trainer.names.size} trainable tensors, ${run.dataset.sizes.reduce((a, b) => a + b, 0)} conversations in ${run.dataset.sizes.length} files${run.resumedFrom ? `, resumed at step ${run.resumedFrom}` : ''}`);
    const t0 = performance.now();
    const s0 = run.trainer.step;
    const evalHooks = await trainEvalHooks(run, (step, metrics) => (tty ? io.err(`\n  eval at step ${step}: ${evalLine(metrics)}\n`) : io.out(`${JSON.stringify({ event: 'eval', step, metrics })}\n`)));
    await run.trainer.run({
      ...evalHooks,
      onLog: (r) => {
        const spent = (performance.now() - t0) / 1000 / Math.max(1, r.step - s0);
        if (tty) io.err(`\r${progressLine(r, config.steps, spent)}\x1b[K`);
        else io.out(`${JSON.stringify({ event: 'log', ...r })}\n`);
      },
      onSave: (dir, step) => (tty ? io.err(`\n  saved ${dir} (step ${step})\n`) : io.out(`${JSON.stringify({ event: 'save', dir, step })}\n`)),
    }, until);
    if (run.trainer.step < config.steps && run.trainer.step % config.saveEvery !== 0) await run.trainer.save(); // a checkpoint where --until stopped
    if (tty) io.err('\n');
    say(`${run.trainer.step === config.steps ? 'done' : 'stopped'}: step ${run.trainer.step} of ${config.steps} after ${fmtDuration((performance.now() - t0) / 1000)}; latest checkpoint ${config.out}/latest.json, loss curve ${config.out}/loss.svg`);
    run.trainer.dispose();
    return 0;
  });
}

export const trainCommand: Command = {
  path: ['train'],
  summary: 'train SegLLM (teacher forcing, text + HIPIE losses) from a config file',
  run: (argv) => runTrain(argv),
};
