/**
 * `golden hipie-loss <file> [--backend b] [--case name]...`: replays every case of a make_hipie_loss.py golden file
 * (any Q, S, token count, number of points: all read from the file) through the HIPIE loss port and prints one JSON
 * line per compared tensor `{"name","maxAbsErr","maxRelErr","pass"}` (matcher indices and intermediates, loss terms,
 * gradients). A case that throws is reported as one failing line and the run goes on with the next case.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { bytesSource, openSafetensors } from '@segllm/tensor';
import { availableBackends } from '@segllm/tensor/testing';
import { hipieLossCaseNames, judgeLossComparison, runHipieLossCase } from '@segllm/models';

function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function parseArgs(args: string[]): { file: string; backend: string; cases: string[] } {
  const files: string[] = [];
  const cases: string[] = [];
  let backend = 'cpu';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--backend') backend = args[++i];
    else if (args[i] === '--case') cases.push(args[++i]);
    else files.push(args[i]);
  }
  if (files.length !== 1 || !backend) throw new Error('usage: golden hipie-loss <hipie_loss.safetensors[.gz]> [--backend cpu|cpu-wasm|webgpu] [--case name]...');
  // npm runs workspace scripts in the package folder: resolve relative paths against where npm was started
  return { file: resolve(process.env.INIT_CWD ?? process.cwd(), files[0]), backend, cases };
}

export async function runHipieLossGolden(args: string[]): Promise<boolean> {
  const { file, backend, cases } = parseArgs(args);
  const have = backend === 'cpu' ? ['cpu'] : await availableBackends();
  if (!have.includes(backend)) throw new Error(`backend '${backend}' is not available here (available: ${have.join(', ')})`);
  const bytes = readFileSync(file);
  const store = await openSafetensors(bytesSource(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes, file));
  const names = cases.length ? cases : hipieLossCaseNames(store.keys());
  if (names.length === 0) throw new Error(`${file} holds no HIPIE loss case (no '<case>.pred_logits' or '<case>.fg.0.pred_logits')`);
  let compared = 0;
  let failed = 0;
  const failedCases: string[] = [];
  for (const name of names) {
    const t0 = performance.now();
    let caseFailed = 0;
    try {
      for (const c of await runHipieLossCase(store, name, backend)) {
        const r = judgeLossComparison(c);
        compared++;
        if (!r.pass) caseFailed++;
        emit({ name: c.name, maxAbsErr: r.maxAbsErr, maxRelErr: r.maxRelErr, pass: r.pass, n: c.expected.length, kind: c.kind, rtol: c.rtol, atol: c.atol });
      }
    } catch (e) {
      caseFailed++;
      emit({ name, pass: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    failed += caseFailed;
    if (caseFailed) failedCases.push(name);
    emit({ case: name, ms: Math.round(performance.now() - t0), failed: caseFailed });
  }
  const ok = failed === 0;
  emit({ summary: 'hipie-loss', backend, file, cases: names, compared, failed, failedCases, ok });
  return ok;
}
