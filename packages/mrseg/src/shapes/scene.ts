/**
 * Procedural scene layout of MRSeg-Shapes: a background, 3-8 objects with colours, patterns and sizes, and
 * planted relations (inside, on top of, touching, connected to, in front of / behind), same-class pairs and
 * composite objects with parts. Everything comes from one Rng, so a scene is a pure function of its seed.
 */
import type { Rng } from '../generators/rng.ts';
import {
  CLASSES,
  COLORS,
  COLOR_NAMES,
  COMPOSITE_CLASSES,
  CONTAINER_CLASSES,
  CLASS_BY_NAME,
  PATTERNS,
  SIMPLE_CLASSES,
  TOUCHABLE_CLASSES,
  type ClassDef,
  type PartDraw,
  type Pattern,
  type Rgb,
  type SizeWord,
} from './classes.ts';

export type BackgroundKind = 'solid' | 'vertical gradient' | 'horizontal gradient' | 'stripes' | 'checker' | 'noise';
export const BACKGROUND_KINDS: readonly BackgroundKind[] = [
  'solid',
  'vertical gradient',
  'horizontal gradient',
  'stripes',
  'checker',
  'noise',
];

export interface Background {
  kind: BackgroundKind;
  a: Rgb;
  b: Rgb;
  period: number;
}

export type Predicate = 'inside' | 'on top of' | 'touching' | 'connected to' | 'in front of' | 'behind';
export const PREDICATES: readonly Predicate[] = ['inside', 'on top of', 'touching', 'connected to', 'in front of', 'behind'];

export interface SceneObject {
  cls: ClassDef;
  color: string;
  pattern: Pattern;
  size: SizeWord;
  /** Layout box [x, y, w, h] (integers); the drawn mask lies inside it. */
  box: [number, number, number, number];
  parts: PartDraw[];
}

export interface SceneRelation {
  subject: number;
  predicate: Predicate;
  object: number;
}

export interface SceneLine {
  a: number;
  b: number;
  width: number;
  color: Rgb;
}

export interface Scene {
  width: number;
  height: number;
  background: Background;
  /** In drawing order (later objects occlude earlier ones). */
  objects: SceneObject[];
  relations: SceneRelation[];
  lines: SceneLine[];
}

export interface SceneOptions {
  minSize?: number;
  maxSize?: number;
}

type Box = [number, number, number, number];

const dist = (a: Rgb, b: Rgb): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

function intersects(a: Box, b: Box, margin: number): boolean {
  return a[0] < b[0] + b[2] + margin && b[0] < a[0] + a[2] + margin && a[1] < b[1] + b[3] + margin && b[1] < a[1] + a[3] + margin;
}

class Layout {
  readonly objects: SceneObject[] = [];
  readonly relations: SceneRelation[] = [];
  readonly lines: SceneLine[] = [];
  private readonly occupied: Box[] = [];
  readonly s: number;

  constructor(
    readonly rng: Rng,
    readonly width: number,
    readonly height: number,
    readonly background: Background,
  ) {
    this.s = Math.min(width, height);
  }

  /** A free [x, y] for a w x h box (2 px from every occupied box and 1 px from the border), or null. */
  findFree(w: number, h: number): [number, number] | null {
    if (w + 2 > this.width || h + 2 > this.height) return null;
    for (let t = 0; t < 60; t++) {
      const x = this.rng.int(1, this.width - w - 1);
      const y = this.rng.int(1, this.height - h - 1);
      if (!this.occupied.some((o) => intersects(o, [x, y, w, h], 2))) return [x, y];
    }
    return null;
  }

  occupy(box: Box): void {
    this.occupied.push(box);
  }

  width_(size: SizeWord): number {
    const [lo, hi] = size === 'small' ? [0.11, 0.16] : size === 'medium' ? [0.18, 0.26] : [0.28, 0.38];
    return Math.max(8, Math.round(this.s * this.rng.float(lo, hi)));
  }

  color(): string {
    const bg = this.background;
    const ok = COLOR_NAMES.filter((c) => dist(COLORS[c], bg.a) > 90 && dist(COLORS[c], bg.b) > 90);
    return this.rng.pick(ok.length > 0 ? ok : COLOR_NAMES);
  }

  /** Adds an object of `cls` with layout box [x, y, w, h]; returns its index. */
  add(cls: ClassDef, x: number, y: number, w: number, h: number, color = this.color()): number {
    const pattern = this.rng.chance(0.5) ? 'plain' : this.rng.pick(PATTERNS);
    const rel = w / this.s;
    const size: SizeWord = rel < 0.17 ? 'small' : rel < 0.27 ? 'medium' : 'large';
    this.objects.push({ cls, color, pattern, size, box: [x, y, w, h], parts: cls.build(x, y, w, h, COLORS[color]) });
    return this.objects.length - 1;
  }

  /** Places one object of `cls` (size drawn at random unless given) at a free spot. */
  placeFree(cls: ClassDef, size: SizeWord = this.rng.pick(['small', 'medium', 'large'] as const), color?: string): number | null {
    let w = this.width_(size);
    let h = Math.round(w * cls.aspect);
    if (h > this.height - 4) {
      h = this.height - 4;
      w = Math.round(h / cls.aspect);
    }
    const at = this.findFree(w, h);
    if (!at) return null;
    this.occupy([at[0], at[1], w, h]);
    return this.add(cls, at[0], at[1], w, h, color);
  }
}

function background(rng: Rng): Background {
  const c = (): Rgb => [rng.int(40, 215), rng.int(40, 215), rng.int(40, 215)];
  const a = c();
  let b = c();
  for (let t = 0; t < 10 && dist(a, b) < 60; t++) b = c();
  return { kind: rng.pick(BACKGROUND_KINDS), a, b, period: rng.int(4, 14) };
}

function plantInside(L: Layout): void {
  const cont = L.rng.pick(CONTAINER_CLASSES);
  const c = L.placeFree(cont, 'large');
  if (c === null) return;
  const [x, y, w, h] = L.objects[c].box;
  const [hx, hy, hw] = cont.hole!(x, y, w, h);
  const inner = L.rng.pick(SIMPLE_CLASSES.filter((k) => k.aspect === 1));
  const iw = Math.floor(hw * L.rng.float(0.6, 0.95));
  if (iw < 6) return;
  const ix = hx + L.rng.int(0, hw - iw);
  const iy = hy + L.rng.int(0, hw - iw);
  const i = L.add(inner, ix, iy, iw, iw);
  L.relations.push({ subject: i, predicate: 'inside', object: c });
}

function plantOnTop(L: Layout): void {
  const base = CLASS_BY_NAME.get('square')!;
  const top = L.rng.pick(['circle', 'square', 'triangle'].map((n) => CLASS_BY_NAME.get(n)!));
  const bw = L.width_(L.rng.pick(['medium', 'large'] as const));
  const tw = Math.max(6, Math.round(bw * L.rng.float(0.35, 0.8)));
  const at = L.findFree(bw, bw + tw);
  if (!at) return;
  L.occupy([at[0], at[1], bw, bw + tw]);
  const b = L.add(base, at[0], at[1] + tw, bw, bw);
  const t = L.add(top, at[0] + L.rng.int(0, bw - tw), at[1], tw, tw);
  L.relations.push({ subject: t, predicate: 'on top of', object: b });
}

function plantTouching(L: Layout): void {
  const A = L.rng.pick(TOUCHABLE_CLASSES);
  const B = L.rng.pick(TOUCHABLE_CLASSES);
  const wa = L.width_(L.rng.pick(['small', 'medium'] as const));
  let wb = L.width_(L.rng.pick(['small', 'medium'] as const));
  if ((wa - wb) % 2 !== 0) wb += 1; // equal parity: both centres on the same row
  const h = Math.max(wa, wb);
  const at = L.findFree(wa + wb, h);
  if (!at) return;
  L.occupy([at[0], at[1], wa + wb, h]);
  const flip = L.rng.chance(0.5);
  const [left, right, wl, wr] = flip ? [B, A, wb, wa] : [A, B, wa, wb];
  const l = L.add(left, at[0], at[1] + (h - wl) / 2, wl, wl);
  const r = L.add(right, at[0] + wl, at[1] + (h - wr) / 2, wr, wr);
  const [s, o] = flip ? [r, l] : [l, r];
  L.relations.push({ subject: s, predicate: 'touching', object: o });
}

function plantConnected(L: Layout): void {
  const a = L.placeFree(L.rng.pick(SIMPLE_CLASSES), L.rng.pick(['small', 'medium'] as const));
  if (a === null) return;
  const b = L.placeFree(L.rng.pick(SIMPLE_CLASSES), L.rng.pick(['small', 'medium'] as const));
  if (b === null) return;
  const dark: Rgb = L.rng.pick([[20, 20, 20], [245, 245, 245], [90, 60, 30]] as Rgb[]);
  L.lines.push({ a, b, width: L.rng.int(2, 3), color: dark });
  L.relations.push({ subject: a, predicate: 'connected to', object: b });
}

function plantOcclusion(L: Layout): void {
  const back = L.rng.pick(SIMPLE_CLASSES.concat(COMPOSITE_CLASSES.filter((c) => c.aspect <= 1.4)));
  const front = L.rng.pick(SIMPLE_CLASSES);
  const bw = L.width_(L.rng.pick(['medium', 'large'] as const));
  const bh = Math.round(bw * back.aspect);
  const fw = Math.max(8, Math.round(bw * L.rng.float(0.5, 0.8)));
  const fh = Math.round(fw * front.aspect);
  const dx = Math.round(bw * L.rng.float(0.45, 0.7));
  const dy = Math.round(bh * L.rng.float(0.3, 0.6));
  const uw = Math.max(bw, dx + fw);
  const uh = Math.max(bh, dy + fh);
  const at = L.findFree(uw, uh);
  if (!at) return;
  L.occupy([at[0], at[1], uw, uh]);
  const flipX = L.rng.chance(0.5);
  const bx = flipX ? at[0] + uw - bw : at[0];
  const fx = flipX ? at[0] + uw - dx - fw : at[0] + dx; // mirrored inside the union box
  const b = L.add(back, bx, at[1], bw, bh);
  const f = L.add(front, fx, at[1] + dy, fw, fh);
  L.relations.push({ subject: f, predicate: 'in front of', object: b }, { subject: b, predicate: 'behind', object: f });
}

function plantPair(L: Layout): void {
  const cls = L.rng.chance(0.3) ? L.rng.pick(COMPOSITE_CLASSES) : L.rng.pick(SIMPLE_CLASSES);
  const color = L.rng.chance(0.5) ? L.color() : undefined;
  const size = L.rng.pick(['small', 'medium'] as const);
  if (L.placeFree(cls, size, color) !== null) L.placeFree(cls, L.rng.chance(0.7) ? size : undefined, color);
}

/** A random scene; deterministic for the Rng's seed. */
export function makeScene(rng: Rng, opts: SceneOptions = {}): Scene {
  const { minSize = 144, maxSize = 224 } = opts;
  const snap = (v: number): number => Math.max(64, Math.round(v / 8) * 8);
  const L = new Layout(rng, snap(rng.int(minSize, maxSize)), snap(rng.int(minSize, maxSize)), background(rng));
  const planters: [number, (l: Layout) => void][] = [
    [0.45, plantInside],
    [0.45, plantOnTop],
    [0.45, plantTouching],
    [0.35, plantConnected],
    [0.45, plantOcclusion],
    [0.55, plantPair],
  ];
  for (const [p, plant] of L.rng.shuffle(planters)) if (L.rng.chance(p)) plant(L);
  if (L.rng.chance(0.6)) L.placeFree(L.rng.pick(COMPOSITE_CLASSES), L.rng.pick(['medium', 'large'] as const));
  const target = L.rng.int(3, 8);
  for (let t = 0; t < 12 && L.objects.length < target; t++) {
    L.placeFree(L.rng.chance(0.25) ? L.rng.pick(COMPOSITE_CLASSES) : L.rng.pick(CLASSES.filter((c) => !c.composite)));
  }
  return { width: L.width, height: L.height, background: L.background, objects: L.objects, relations: L.relations, lines: L.lines };
}
