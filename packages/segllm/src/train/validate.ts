/**
 * Evaluation during training (the config's `eval` block): every `eval.every` steps and at the end, the first `limit`
 * conversations of each validation file run through the model in inference mode, later rounds referring to the
 * model's own earlier masks (as `segllm eval` does by default), and each file's overall mIoU, cIoU and P@0.5 go into
 * the trainer's history as `<file name>/mIoU`, `<file name>/cIoU`, `<file name>/P@0.5` (`<file name>/n`: masks scored).
 */
import type { Module } from '@segllm/tensor';
import type { TrainHooks } from './trainer.ts';
import type { TrainRun } from './run.ts';
import { evaluateConversations, readEvalInputs, scoreEvalRecords, type EvalInputs } from './evaluate.ts';

/** Runs `fn` with every module of `m` in inference mode, then restores each module's own mode. */
export async function inEvalMode<R>(m: Module, fn: () => Promise<R>): Promise<R> {
  const modes = [...m.namedModules()].map(([, sub]) => [sub, sub.training] as const);
  m.eval();
  try {
    return await fn();
  } finally {
    for (const [sub, mode] of modes) sub.training = mode;
  }
}

/** Short, distinct names of the validation files (base name without .json; a repeated one gets "#i"). */
function fileNames(files: readonly string[]): string[] {
  const base = files.map((f) => (f.split(/[\\/]/).pop() ?? f).replace(/\.json$/, ''));
  return base.map((b, i) => (base.indexOf(b) === i ? b : `${b}#${i}`));
}

/**
 * The trainer's onEval / evalEvery for `run`'s config (none when it has no `eval` block). `onResult` sees each
 * evaluation's metrics (the CLI prints them).
 */
export async function trainEvalHooks(run: TrainRun, onResult?: (step: number, metrics: Record<string, number>) => void): Promise<Pick<TrainHooks, 'onEval' | 'evalEvery'>> {
  const ev = run.config.eval;
  if (!ev) return {};
  const names = fileNames(ev.conversations);
  const inputs: EvalInputs[] = [];
  for (const f of ev.conversations) inputs.push(await readEvalInputs(f, ev.annotations, ev.images, ev.limit));
  const onEval = (step: number) => inEvalMode(run.model.model, async () => {
    const metrics: Record<string, number> = {};
    for (const [i, inp] of inputs.entries()) {
      const r = await evaluateConversations(run.model, inp, { references: 'predicted' });
      const { overall } = scoreEvalRecords(r.gt, r.pred);
      Object.assign(metrics, { [`${names[i]}/mIoU`]: overall.mIoU, [`${names[i]}/cIoU`]: overall.cIoU, [`${names[i]}/P@0.5`]: overall['P@0.5'], [`${names[i]}/n`]: overall.n });
    }
    onResult?.(step, metrics);
    return metrics;
  });
  return { onEval, evalEvery: ev.every };
}
