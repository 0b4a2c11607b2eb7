/** `segllm chat` and `segllm segment` end to end on a tiny random checkpoint, argument errors, the REPL through stdin. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSegLLM } from '@segllm/core';
import type { RoundResult } from '@segllm/core';
import { decodePng } from '@segllm/mrseg';
import { runChat } from '../src/commands/chat.ts';
import { runSegment } from '../src/commands/segment.ts';
import { decoderFor } from '../src/lib/model.ts';
import { captureIo, makeFixtures } from './helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
let fx: Awaited<ReturnType<typeof makeFixtures>>;
/** The same rounds through the library, as the reference for what the commands print and write. */
let expected: RoundResult[];
const ROUNDS = ['Segment the red square.', 'Segment the thing left of it. [REF:1]', 'Segment the background.'];

beforeAll(async () => {
  fx = await makeFixtures();
  const { model } = await loadSegLLM(fx.ckpt, { decoder: decoderFor });
  const session = await model.chat(fx.image);
  expected = [];
  for (const r of ROUNDS) expected.push(await session.ask(r));
  session.dispose();
});
afterAll(() => fx.cleanup());

const ROUND_LINE = /^round (\d+): box \[([^\]]*)\] score (-?[\d.]+) area (\d+) px \(([\d.]+)%\)( ref \[[\d, ]+\])? in \d+ ms$/;
const area = (m: Uint8Array): number => m.reduce((s, v) => s + v, 0);

function roundLines(out: string): RegExpExecArray[] {
  return out.split('\n').flatMap((l) => {
    const m = ROUND_LINE.exec(l);
    return m ? [m] : [];
  });
}

function expectRoundLine(m: RegExpExecArray, r: RoundResult): void {
  expect(Number(m[1])).toBe(r.round);
  expect(m[2]).toBe(r.box.map((v) => v.toFixed(1)).join(', '));
  expect(m[3]).toBe(r.score.toFixed(4));
  expect(Number(m[4])).toBe(area(r.mask));
  expect(m[6] ?? '').toBe(r.referencedRounds.length ? ` ref [${r.referencedRounds.join(', ')}]` : '');
}

describe('segllm chat --ask', () => {
  it('runs the rounds, prints box/score/area/time per round and writes masks, overlays and history.json', async () => {
    const out = join(fx.dir, 'chat-out');
    const io = captureIo();
    const code = await runChat(['--model', fx.ckpt, '--image', fx.image, '--out', out, ...ROUNDS.flatMap((r) => ['--ask', r])], io);
    expect(code, io.stderr()).toBe(0);
    const lines = roundLines(io.stdout());
    expect(lines).toHaveLength(3);
    lines.forEach((m, i) => expectRoundLine(m, expected[i]));
    expect(io.stderr()).toMatch(/image .*scene\.png: 40x30, encoded/);
    expect(readdirSync(out).sort()).toEqual(['history.json', ...[1, 2, 3].flatMap((k) => [`round-${k}.mask.png`, `round-${k}.overlay.png`])].sort());
    for (const r of expected) {
      const png = decodePng(readFileSync(join(out, `round-${r.round}.mask.png`)));
      expect([png.width, png.height, png.channels]).toEqual([40, 30, 1]);
      expect(Array.from(png.data as Uint8Array)).toEqual(Array.from(r.mask, (v) => v * 255));
      const ov = decodePng(readFileSync(join(out, `round-${r.round}.overlay.png`)));
      expect([ov.width, ov.height, ov.channels]).toEqual([40, 30, 3]);
    }
    const hist = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as { image: unknown; rounds: { round: number; text: string; refs: number[]; area: number; mask: string }[] };
    expect(hist.image).toEqual({ width: 40, height: 30 });
    expect(hist.rounds.map((r) => [r.round, r.text, r.refs, r.area, r.mask])).toEqual(
      expected.map((r, i) => [r.round, ROUNDS[i], r.referencedRounds, area(r.mask), `round-${r.round}.mask.png`]),
    );
  });

  it('a typed error in an --ask round prints its message and exits 1', async () => {
    const io = captureIo();
    expect(await runChat(['--model', fx.ckpt, '--image', fx.image, '--ask', 'Segment the dog.', '--ask', 'Segment the cat. [REF:2]'], io)).toBe(1);
    expect(roundLines(io.stdout())).toHaveLength(1);
    expect(io.stderr()).toContain('round 2 ("Segment the cat. [REF:2]"): InvalidReferenceError: [REF:2] in round 2: only rounds 1..1 have outputs to refer to');
  });
});

describe('segllm segment', () => {
  it('runs one round and writes the same mask as the library', async () => {
    const out = join(fx.dir, 'seg', 'mask.png');
    const io = captureIo();
    expect(await runSegment(['--model', fx.ckpt, '--image', fx.image, '--prompt', ROUNDS[0], '--out', out], io), io.stderr()).toBe(0);
    const lines = roundLines(io.stdout());
    expect(lines).toHaveLength(1);
    expectRoundLine(lines[0], expected[0]);
    expect(Array.from(decodePng(readFileSync(out)).data as Uint8Array)).toEqual(Array.from(expected[0].mask, (v) => v * 255));
    expect(readdirSync(dirname(out))).toEqual(['mask.png']); // no temporary file left behind
  });
});

describe('argument errors', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['missing --image', ['--model', 'm'], 2, /--image is required/],
    ['unknown option', ['--model', 'm', '--image', 'x.png', '--bogus'], 2, /Unknown option '--bogus'/],
    ['bad device', ['--model', 'm', '--image', 'x.png', '--device', 'tpu'], 2, /--device must be one of auto, webgpu, cpu-wasm, cpu, got "tpu"/],
    ['bad dtype', ['--model', 'm', '--image', 'x.png', '--dtype', 'int8'], 2, /--dtype must be one of float32, float16/],
  ];
  it.each(cases)('chat: %s -> exit %i', async (_, argv, code, msg) => {
    const io = captureIo();
    expect(await runChat(argv, io)).toBe(code);
    expect(io.stderr()).toMatch(msg);
    expect(io.stderr()).toContain('usage: segllm chat');
  });
  it('segment: --prompt is required; a missing checkpoint and an unreadable image are user errors (exit 1)', async () => {
    let io = captureIo();
    expect(await runSegment(['--model', fx.ckpt, '--image', fx.image], io)).toBe(2);
    expect(io.stderr()).toMatch(/--prompt is required/);
    io = captureIo();
    expect(await runSegment(['--model', join(fx.dir, 'nope'), '--image', fx.image, '--prompt', 'x'], io)).toBe(1);
    expect(io.stderr()).toMatch(/^segllm segment: \w+Error: .*nope/);
    io = captureIo();
    expect(await runSegment(['--model', fx.ckpt, '--image', join(fx.dir, 'missing.png'), '--prompt', 'x'], io)).toBe(1);
    expect(io.stderr()).toMatch(/ImageDecodeError: cannot read image file .*missing\.png/);
    io = captureIo();
    expect(await runSegment(['--help'], io)).toBe(0);
    expect(io.stdout()).toContain('usage: segllm segment');
  });
});

describe('the REPL', () => {
  it('runs rounds, reports typed errors and goes on, and handles undo / history / reset / exit (in process)', async () => {
    const out = join(fx.dir, 'repl-out');
    const io = captureIo([ROUNDS[0], 'Segment it. [REF:4]', '   ', ROUNDS[1], 'history', 'undo', 'history', '[REF:1]', 'reset', 'undo', 'history', 'exit', ROUNDS[2]]);
    expect(await runChat(['--model', fx.ckpt, '--image', fx.image, '--out', out], io), io.stderr()).toBe(0);
    const text = io.stdout();
    const lines = roundLines(text);
    expect(lines).toHaveLength(2);
    expectRoundLine(lines[0], expected[0]);
    expectRoundLine(lines[1], expected[1]);
    const rest = text.split('\n').filter((l) => !ROUND_LINE.test(l));
    const fmt = (r: RoundResult, i: number): string => `${r.round}. ${ROUNDS[i]}${r.referencedRounds.length ? ` refs [${r.referencedRounds.join(', ')}]` : ''} -> box [${r.box.map((v) => v.toFixed(1)).join(', ')}] score ${r.score.toFixed(4)}`;
    expect(rest).toEqual([
      'type a request per line ("[REF:k]" refers to round k); commands: undo, reset, history, exit',
      'InvalidReferenceError: [REF:4] in round 2: only rounds 1..1 have outputs to refer to',
      fmt(expected[0], 0),
      fmt(expected[1], 1),
      'undid round 2',
      fmt(expected[0], 0),
      'EmptyPromptError: the prompt is empty (after removing [REF:k] tags): say what to segment, e.g. "Segment the dog."',
      'reset: dropped 1 round',
      'nothing to undo',
      'no rounds yet',
      '',
    ]);
    expect((JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as { rounds: unknown[] }).rounds).toEqual([]);
  });

  it('prompts only when stdin is a terminal', async () => {
    const io = captureIo(['history', '', 'exit']);
    Object.assign(io.stdin, { isTTY: true });
    expect(await runChat(['--model', fx.ckpt, '--image', fx.image], io)).toBe(0);
    expect(io.stdout().split('\n').slice(1)).toEqual(['segllm> no rounds yet', 'segllm> segllm> ']);
  });

  it('reads rounds from a real stdin pipe (spawned CLI) and exits at end of input', async () => {
    const child = spawn(join(root, 'node_modules/.bin/tsx'), ['--conditions=@segllm/source', join(root, 'packages/cli/src/main.ts'), 'chat', '--model', fx.ckpt, '--image', fx.image], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end(`${ROUNDS[0]}\n${ROUNDS[1]}\nundo\n`);
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code, err).toBe(0);
    const lines = roundLines(out);
    expect(lines).toHaveLength(2);
    expectRoundLine(lines[0], expected[0]);
    expectRoundLine(lines[1], expected[1]);
    expect(out).toContain('undid round 2');
    expect(err).toMatch(/model .* loaded in \d+ ms/);
    expect(existsSync(join(fx.dir, 'chat-out', 'history.json'))).toBe(true);
  });
});
