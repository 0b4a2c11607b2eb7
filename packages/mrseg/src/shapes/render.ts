/**
 * Renders a scene to RGB pixels and a label map. The label map holds, per pixel, the index of the part slot
 * that painted it last (-1 for background), so visible masks are exactly the pixels each part shows.
 */
import type { Rng } from '../generators/rng.ts';
import type { Pattern, Rgb } from './classes.ts';
import { thickLine, type Primitive } from './geometry.ts';
import type { Background, Scene } from './scene.ts';

export interface PartSlot {
  object: number;
  part: number;
}

export interface Rendered {
  width: number;
  height: number;
  /** [h, w, 3] RGB bytes. */
  rgb: Uint8Array;
  /** [h, w] part slot index per pixel, -1 for background. */
  labels: Int16Array;
  slots: PartSlot[];
}

function backgroundColor(bg: Background, x: number, y: number, w: number, h: number, out: Rgb): void {
  let t: number;
  switch (bg.kind) {
    case 'vertical gradient':
      t = y / Math.max(1, h - 1);
      break;
    case 'horizontal gradient':
      t = x / Math.max(1, w - 1);
      break;
    case 'stripes':
      t = Math.floor((x + y) / bg.period) % 2;
      break;
    case 'checker':
      t = (Math.floor(x / bg.period) + Math.floor(y / bg.period)) % 2;
      break;
    default:
      t = 0;
  }
  out[0] = bg.a[0] + (bg.b[0] - bg.a[0]) * t;
  out[1] = bg.a[1] + (bg.b[1] - bg.a[1]) * t;
  out[2] = bg.a[2] + (bg.b[2] - bg.a[2]) * t;
}

function patternFactor(p: Pattern, x: number, y: number): number {
  switch (p) {
    case 'striped':
      return Math.floor((x + y) / 4) % 2 === 0 ? 1 : 0.62;
    case 'dotted':
      return x % 6 < 2 && y % 6 < 2 ? 0.5 : 1;
    case 'checkered':
      return (Math.floor(x / 4) + Math.floor(y / 4)) % 2 === 0 ? 1 : 0.62;
    default:
      return 1;
  }
}

function paint(
  prim: Primitive,
  w: number,
  h: number,
  fn: (i: number, x: number, y: number) => void,
): void {
  const [x0, y0, x1, y1] = prim.bounds;
  for (let y = Math.max(0, y0); y < Math.min(h, y1 + 1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(w, x1 + 1); x++) {
      if (prim.contains(x + 0.5, y + 0.5)) fn(y * w + x, x, y);
    }
  }
}

/** Draws background, connecting lines, then objects in order, then per-pixel noise (+-6) from `rng`. */
export function renderScene(scene: Scene, rng: Rng): Rendered {
  const { width: w, height: h } = scene;
  const rgb = new Uint8Array(w * h * 3);
  const labels = new Int16Array(w * h).fill(-1);
  const c: Rgb = [0, 0, 0];
  const jitter = scene.background.kind === 'noise' ? 28 : 6;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      backgroundColor(scene.background, x, y, w, h, c);
      const i = (y * w + x) * 3;
      rgb[i] = c[0];
      rgb[i + 1] = c[1];
      rgb[i + 2] = c[2];
    }
  }
  for (const line of scene.lines) {
    const [ax, ay, aw, ah] = scene.objects[line.a].box;
    const [bx, by, bw, bh] = scene.objects[line.b].box;
    paint(thickLine(ax + aw / 2, ay + ah / 2, bx + bw / 2, by + bh / 2, line.width), w, h, (i) => rgb.set(line.color, i * 3));
  }
  const slots: PartSlot[] = [];
  scene.objects.forEach((o, oi) => {
    o.parts.forEach((part, pi) => {
      const slot = slots.length;
      slots.push({ object: oi, part: pi });
      for (const prim of part.prims) {
        paint(prim, w, h, (i, x, y) => {
          const f = part.main ? patternFactor(o.pattern, x, y) : 1;
          rgb[i * 3] = part.color[0] * f;
          rgb[i * 3 + 1] = part.color[1] * f;
          rgb[i * 3 + 2] = part.color[2] * f;
          labels[i] = slot;
        });
      }
    });
  });
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i] + (rng.nextU32() % (2 * jitter + 1)) - jitter;
    rgb[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: w, height: h, rgb, labels, slots };
}
