/** Drawing rounds over the image (a colour per round, mask tinted half-way, box outlined) and hit-testing masks. */
import type { RoundResult } from '@segllm/core';

const PALETTE: readonly (readonly [number, number, number])[] = [
  [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60],
];

export function roundColour(round: number): readonly [number, number, number] {
  return PALETTE[(round - 1) % PALETTE.length];
}

/** The image with every round's mask tinted in its colour (later rounds on top) and its box outlined. */
export function drawScene(canvas: HTMLCanvasElement, pixels: ImageData, results: readonly RoundResult[]): void {
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d')!;
  const out = new ImageData(new Uint8ClampedArray(pixels.data), pixels.width, pixels.height);
  for (const r of results) {
    const c = roundColour(r.round);
    for (let i = 0; i < r.mask.length; i++) {
      if (!r.mask[i]) continue;
      for (let k = 0; k < 3; k++) out.data[i * 4 + k] = (out.data[i * 4 + k] + c[k]) >> 1;
    }
  }
  ctx.putImageData(out, 0, 0);
  for (const r of results) {
    const [x0, y0, x1, y1] = r.box;
    ctx.strokeStyle = `rgb(${roundColour(r.round).join(',')})`;
    ctx.lineWidth = Math.max(1, pixels.width / 200);
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  }
}

/** The latest round whose mask covers pixel (x, y), or null. */
export function maskRoundAt(results: readonly RoundResult[], x: number, y: number): number | null {
  for (let k = results.length - 1; k >= 0; k--) {
    const r = results[k];
    if (x >= 0 && y >= 0 && x < r.width && y < r.height && r.mask[y * r.width + x]) return r.round;
  }
  return null;
}
