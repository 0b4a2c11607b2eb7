/**
 * `segllm chat`: a multi-round conversation about one image. Without --ask it is a REPL (node:readline): each line
 * is a round (`[REF:k]` refers to round k), and `undo`, `reset`, `history`, `exit` are commands. With --ask it runs
 * the given rounds in order and exits. --out writes round-<k>.mask.png, round-<k>.overlay.png and history.json.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readImageFile } from '@segllm/models';
import type { Image8 } from '@segllm/models';
import type { ChatSession, RoundResult, SegLLM } from '@segllm/core';
import { guard, isUserError } from '../lib/errors.ts';
import { processIo, type Io } from '../lib/io.ts';
import { parseOptions, required } from '../lib/args.ts';
import { DEFAULT_MODEL } from '@segllm/core';
import { loadModel } from '../lib/model.ts';
import { maskArea, maskPng, overlayPng, roundLine, writeFileAtomic } from '../lib/output.ts';
import type { Command } from './index.ts';

export const CHAT_USAGE = `usage: segllm chat [--model <checkpoint>] --image <file> [--vision-tower <dir>] [--device auto|webgpu|cpu-wasm|cpu]
         [--dtype float32|float16] [--out <dir>] [--ask "<text>"]...
  Without --ask: an interactive session; each line is a round ("[REF:k]" refers to round k's mask),
  and the commands are: undo (drop the last round), reset (drop all rounds), history, exit.
  With --ask (repeatable): runs those rounds in order and exits (exit code 1 if one fails).
  --out <dir>: per round round-<k>.mask.png (0/255) and round-<k>.overlay.png, plus history.json.
  --model: a checkpoint folder, a hub id (owner/repo/variant) or a URL; default: the default model (today a tiny
  model with RANDOM weights: no trained default exists yet).
`;

const CHAT_OPTIONS = {
  model: { type: 'string' },
  'vision-tower': { type: 'string' },
  image: { type: 'string' },
  device: { type: 'string' },
  backend: { type: 'string' },
  dtype: { type: 'string' },
  out: { type: 'string' },
  ask: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The conversation state the REPL and --ask share; writes the --out files after every change. */
class ChatRun {
  constructor(
    readonly session: ChatSession,
    readonly image: Image8,
    readonly out: string | undefined,
    readonly io: Io,
  ) {}

  async ask(text: string): Promise<RoundResult> {
    const t0 = performance.now();
    this.io.progress?.status(`round ${this.session.rounds + 1}: "${text.slice(0, 40)}"`);
    const r = await this.session.ask(text).finally(() => this.io.progress?.clear());
    const ms = performance.now() - t0;
    this.io.out(`${roundLine(r, ms)}\n`);
    if (this.out) {
      await writeFileAtomic(join(this.out, `round-${r.round}.mask.png`), maskPng(r.mask, r.width, r.height));
      await writeFileAtomic(join(this.out, `round-${r.round}.overlay.png`), overlayPng(this.image, r));
      await this.writeHistory();
    }
    return r;
  }

  async undo(): Promise<void> {
    const n = this.session.rounds;
    if (!this.session.undo()) {
      this.io.out('nothing to undo\n');
      return;
    }
    this.io.out(`undid round ${n}\n`);
    await this.writeHistory();
  }

  async reset(): Promise<void> {
    const n = this.session.rounds;
    this.session.reset();
    this.io.out(`reset: dropped ${n} round${n === 1 ? '' : 's'}\n`);
    await this.writeHistory();
  }

  history(): void {
    const h = this.session.history();
    if (!h.length) this.io.out('no rounds yet\n');
    for (const e of h) {
      const ref = e.refs.length ? ` refs [${e.refs.join(', ')}]` : '';
      this.io.out(`${e.round}. ${e.text}${ref} -> box [${e.box.map((v) => v.toFixed(1)).join(', ')}] score ${e.score.toFixed(4)}\n`);
    }
  }

  /** history.json: the session's history plus each round's mask area and file names (undone rounds leave it). */
  async writeHistory(): Promise<void> {
    if (!this.out) return;
    const results = this.session.results;
    const rounds = this.session.history().map((e, i) => ({
      ...e,
      area: maskArea(results[i].mask),
      mask: `round-${e.round}.mask.png`,
      overlay: `round-${e.round}.overlay.png`,
    }));
    const doc = { image: { width: this.image.width, height: this.image.height }, rounds };
    await writeFileAtomic(join(this.out, 'history.json'), `${JSON.stringify(doc, null, 2)}\n`);
  }
}

/** Reads lines until `exit` or end of input; every error that is the user's to fix is printed and the REPL goes on. */
async function repl(run: ChatRun, io: Io): Promise<number> {
  const rl = createInterface({ input: io.stdin, terminal: false });
  // A prompt only for a person at a terminal; piped input (scripts, tests) gets none.
  const prompt = (io.stdin as { isTTY?: boolean }).isTTY ? () => io.out('segllm> ') : () => {};
  io.out('type a request per line ("[REF:k]" refers to round k); commands: undo, reset, history, exit\n');
  prompt();
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (!line) {
        prompt();
        continue;
      }
      const word = line.toLowerCase();
      try {
        if (word === 'exit' || word === 'quit') break;
        else if (word === 'undo') await run.undo();
        else if (word === 'reset') await run.reset();
        else if (word === 'history') run.history();
        else await run.ask(line);
      } catch (e) {
        if (!isUserError(e)) throw e;
        io.out(`${e.name}: ${e.message}\n`);
      }
      prompt();
    }
  } finally {
    rl.close();
  }
  return 0;
}

/** Opens the session (timing the image encoding) on a loaded model; for the command and for tests. */
export async function openChat(model: SegLLM, imagePath: string, io: Io): Promise<{ session: ChatSession; image: Image8 }> {
  const image = await readImageFile(imagePath);
  const t0 = performance.now();
  io.progress?.status(`encoding ${imagePath} (CLIP + decoder features)`);
  const session = await model.chat(image).finally(() => io.progress?.clear());
  io.err(`image ${imagePath}: ${image.width}x${image.height}, encoded (CLIP + decoder features) in ${(performance.now() - t0).toFixed(0)} ms\n`);
  return { session, image };
}

export async function runChat(argv: string[], io: Io = processIo): Promise<number> {
  return guard('chat', CHAT_USAGE, io.err, async () => {
    const v = parseOptions(argv, CHAT_OPTIONS);
    if (v.help) {
      io.out(CHAT_USAGE);
      return 0;
    }
    const modelDir = v.model ?? DEFAULT_MODEL.id;
    const imagePath = required(v.image, 'image');
    const asks = v.ask ?? [];
    const { model, ms } = await loadModel({ model: v.model, visionTower: v['vision-tower'], device: v.device ?? v.backend, dtype: v.dtype, progress: io.progress });
    io.err(`model ${modelDir} loaded in ${ms.toFixed(0)} ms\n`);
    if (v.model === undefined && !DEFAULT_MODEL.trained) io.err(`NOTE: no --model given: ${DEFAULT_MODEL.id} has RANDOM weights, so its masks are meaningless\n`);
    const { session, image } = await openChat(model, imagePath, io);
    const run = new ChatRun(session, image, v.out, io);
    try {
      if (!asks.length) return await repl(run, io);
      for (const text of asks) {
        try {
          await run.ask(text);
        } catch (e) {
          if (!isUserError(e)) throw e;
          io.err(`segllm chat: round ${session.rounds + 1} ("${text}"): ${e.name}: ${e.message}\n`);
          return 1;
        }
      }
      return 0;
    } finally {
      session.dispose();
    }
  });
}

export const chatCommand: Command = {
  path: ['chat'],
  summary: 'multi-round segmentation chat about an image (interactive, or --ask rounds)',
  run: (argv) => runChat(argv),
};
