/** Test fixtures: a tiny random SegLLM checkpoint (saveSegLLM, release layout) and a tiny PNG, in a temp folder. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { saveSegLLM } from '@segllm/core';
import { encodePng } from '@segllm/mrseg';
import { buildTinySegLLM } from '../src/lib/model.ts';
import type { Io } from '../src/lib/io.ts';

// The commands' default device is 'auto'; the tests compare them with the library on the CPU (child processes inherit it).
process.env.SEGLLM_DEVICE ??= 'cpu';

/** Decoder frame of the test checkpoints (small, so rounds take milliseconds). */
export const FRAME = 64;

export async function makeFixtures(): Promise<{ dir: string; ckpt: string; image: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'segllm-cli-'));
  const ckpt = join(dir, 'tiny');
  const { model, configJson, tokenizerJson } = await buildTinySegLLM({ seed: 3, imageSize: FRAME });
  await saveSegLLM(model, ckpt, { shards: 2, dtype: 'float32', configJson, tokenizerJson });
  const image = join(dir, 'scene.png');
  writeFileSync(image, encodePng({ width: 40, height: 30, channels: 3, data: testPixels(40, 30) }));
  return { dir, ckpt, image, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A 40 x 30 RGB image: a bright square on a gradient. */
export function testPixels(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inSquare = x >= 8 && x < 20 && y >= 6 && y < 18;
      const o = (y * w + x) * 3;
      px[o] = inSquare ? 240 : (x * 5) % 256;
      px[o + 1] = inSquare ? 30 : (y * 7) % 256;
      px[o + 2] = inSquare ? 30 : 128;
    }
  }
  return px;
}

/** An Io that records what a command prints; `lines` feeds stdin. */
export function captureIo(lines: string[] = []): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const stdin = lines.length ? Readable.from(lines.map((l) => `${l}\n`)) : new PassThrough();
  if (!lines.length) (stdin as PassThrough).end();
  return { out: (s) => void (out += s), err: (s) => void (err += s), stdin, stdout: () => out, stderr: () => err };
}
