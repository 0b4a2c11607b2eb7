/**
 * The CLI as a fuzz target: random command lines of `segllm segment` and `segllm chat` over good, mutated, missing
 * and wrong-kind files (a tiny checkpoint and its mutated copies, PNGs, folders). A handled failure is an exit code
 * (1: the user's error, 2: usage), counted as a typed error; an exception out of the command is untyped.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { saveSegLLM } from '@segllm/core';
import { encodePng } from '@segllm/mrseg';
import { buildTinySegLLM } from '../../packages/cli/src/lib/model.ts';
import { runSegment } from '../../packages/cli/src/commands/segment.ts';
import { runChat } from '../../packages/cli/src/commands/chat.ts';
import { mutateBytes, mutateText } from './harness.ts';
import type { FuzzTarget, Rng } from './harness.ts';

/** A command that exited non-zero after printing its message (a handled failure). */
export class CliExitCode extends Error {
  override readonly name = 'CliExitCode';
}

let dir = '';
let n = 0;

/** A checkpoint folder: the good one, or a copy with one file mutated, removed or replaced by a folder. */
function checkpoint(rng: Rng): string {
  const good = join(dir, 'ckpt');
  if (rng.chance(0.3)) return good;
  const copy = join(dir, `ckpt-${n++}`);
  cpSync(good, copy, { recursive: true });
  const file = rng.pick(['config.json', 'tokenizer.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors']);
  const p = join(copy, file);
  const what = rng.int(4);
  if (what === 0) rmSync(p);
  else if (what === 1) {
    rmSync(p);
    mkdirSync(p);
  } else if (file.endsWith('.json') && file !== 'tokenizer.json') writeFileSync(p, mutateText(readFileSync(p, 'utf8'), rng));
  else writeFileSync(p, mutateBytes(readFileSync(p), rng));
  return copy;
}

function image(rng: Rng): string {
  const good = join(dir, 'scene.png');
  const k = rng.int(5);
  if (k <= 1) return good;
  if (k === 2) return dir; // a folder
  if (k === 3) return join(dir, 'missing.png');
  const p = join(dir, `img-${n++}.png`);
  writeFileSync(p, mutateBytes(readFileSync(good), rng));
  return p;
}

const PROMPTS = ['Segment the dog.', '[REF:1] again', '', '\u9fff'.repeat(30000), 'x [REF:99999999999999999999]', '[SEG]<seg></s>'];

function argv(rng: Rng): string[] {
  const a: string[] = [];
  if (rng.chance(0.9)) a.push('--model', checkpoint(rng));
  if (rng.chance(0.9)) a.push('--image', image(rng));
  if (rng.chance(0.8)) a.push('--prompt', rng.pick(PROMPTS));
  if (rng.chance(0.2)) a.push(rng.pick(['--backend', '--dtype', '--out', '--vision-tower', '--bogus']), rng.pick(['cpu', 'float64', join(dir, 'out', 'm.png'), dir, '', '-h']));
  return a;
}

export const cliTarget: FuzzTarget<{ command: 'segment' | 'chat'; argv: string[]; stdin: string[] }> & { cleanup?: () => void } = {
  name: 'CLI (segment, chat)',
  hangMs: 60_000,
  async setup() {
    if (dir) return;
    dir = mkdtempSync(join(tmpdir(), 'fuzz-cli-'));
    const { model, configJson, tokenizerJson } = await buildTinySegLLM({ seed: 3, imageSize: 64 });
    await saveSegLLM(model, join(dir, 'ckpt'), { shards: 2, dtype: 'float32', configJson, tokenizerJson });
    writeFileSync(join(dir, 'scene.png'), encodePng({ width: 24, height: 16, channels: 3, data: new Uint8Array(24 * 16 * 3).map((_, i) => (i * 13) & 255) }));
  },
  input: (rng) => ({ command: rng.chance(0.7) ? 'segment' : 'chat', argv: argv(rng), stdin: [rng.pick(PROMPTS), '/undo', '/reset', rng.pick(PROMPTS), '/bogus'] }),
  async run({ command, argv: args, stdin }) {
    const io = { out: () => undefined, err: () => undefined, stdin: new PassThrough() };
    io.stdin.end(stdin.map((l) => `${l}\n`).join(''));
    const code = command === 'segment' ? await runSegment(args, io) : await runChat(args, io);
    if (code !== 0) throw new CliExitCode(`exit ${code}`);
  },
  describe: (x) => `segllm ${x.command} ${x.argv.map((s) => JSON.stringify(s.slice(0, 60))).join(' ')}`,
  cleanup() {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  },
};
