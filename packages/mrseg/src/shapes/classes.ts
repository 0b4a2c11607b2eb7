/** Object classes, colours and patterns of MRSeg-Shapes. Composite classes have named parts. */
import { ellipse, frame, polygon, rect, regularPolygonPoints, ring, starPoints, type Primitive } from './geometry.ts';

export type Rgb = [number, number, number];

export const COLORS: Readonly<Record<string, Rgb>> = {
  red: [214, 39, 40],
  green: [44, 160, 44],
  blue: [31, 90, 220],
  yellow: [240, 210, 30],
  orange: [250, 135, 20],
  purple: [140, 70, 190],
  pink: [240, 120, 185],
  cyan: [30, 200, 210],
  white: [245, 245, 245],
  black: [25, 25, 25],
  brown: [135, 85, 40],
  gray: [128, 128, 128],
};
export const COLOR_NAMES = Object.keys(COLORS);

export type Pattern = 'plain' | 'striped' | 'dotted' | 'checkered';
export const PATTERNS: readonly Pattern[] = ['plain', 'striped', 'dotted', 'checkered'];

export type SizeWord = 'small' | 'medium' | 'large';

export interface PartDraw {
  name: string;
  prims: Primitive[];
  color: Rgb;
  /** The main part carries the object's colour and pattern. */
  main: boolean;
}

export interface ClassDef {
  name: string;
  /** Height / width of the class's box. */
  aspect: number;
  /** Has a hole that can hold another object ("inside" relations). */
  container?: boolean;
  /** Fills the middle row of its box to both sides, so a neighbour at its box edge touches it. */
  touchable?: boolean;
  /** Composite classes (two or more named parts). */
  composite?: boolean;
  build(x: number, y: number, w: number, h: number, color: Rgb): PartDraw[];
  /** For containers: the free box [x, y, w, h] inside the hole. */
  hole?(x: number, y: number, w: number, h: number): [number, number, number, number];
}

const shade = (c: Rgb, f: number): Rgb => [Math.round(c[0] * f), Math.round(c[1] * f), Math.round(c[2] * f)];
const one = (prim: Primitive, color: Rgb): PartDraw[] => [{ name: 'body', prims: [prim], color, main: true }];

export const CLASSES: readonly ClassDef[] = [
  { name: 'circle', aspect: 1, touchable: true, build: (x, y, w, h, c) => one(ellipse(x + w / 2, y + h / 2, w / 2, h / 2), c) },
  { name: 'square', aspect: 1, touchable: true, build: (x, y, w, h, c) => one(rect(x, y, x + w, y + h), c) },
  { name: 'triangle', aspect: 1, build: (x, y, w, h, c) => one(polygon([x, y + h, x + w, y + h, x + w / 2, y]), c) },
  {
    name: 'diamond',
    aspect: 1.3,
    build: (x, y, w, h, c) => one(polygon([x + w / 2, y, x + w, y + h / 2, x + w / 2, y + h, x, y + h / 2]), c),
  },
  { name: 'star', aspect: 1, build: (x, y, w, _h, c) => one(polygon(starPoints(x + w / 2, y + w / 2 + w * 0.05, w / 2, w / 4.5, 5)), c) },
  {
    name: 'hexagon',
    aspect: 1,
    build: (x, y, w, _h, c) => one(polygon(regularPolygonPoints(x + w / 2, y + w / 2, w / 2, 6, Math.PI / 6)), c),
  },
  {
    name: 'cross',
    aspect: 1,
    build: (x, y, w, h, c) => {
      const a = w / 3;
      return one(polygon([x + a, y, x + 2 * a, y, x + 2 * a, y + a, x + w, y + a, x + w, y + 2 * a, x + 2 * a, y + 2 * a,
        x + 2 * a, y + h, x + a, y + h, x + a, y + 2 * a, x, y + 2 * a, x, y + a, x + a, y + a]), c);
    },
  },
  {
    name: 'ring',
    aspect: 1,
    container: true,
    build: (x, y, w, _h, c) => one(ring(x + w / 2, y + w / 2, w * 0.32, w / 2), c),
    hole: (x, y, w) => {
      const s = Math.floor(w * 0.4);
      return [Math.ceil(x + (w - s) / 2), Math.ceil(y + (w - s) / 2), s, s];
    },
  },
  {
    name: 'frame',
    aspect: 1,
    container: true,
    build: (x, y, w, h, c) => one(frame(x, y, x + w, y + h, Math.max(3, Math.round(w * 0.16))), c),
    hole: (x, y, w) => {
      const t = Math.max(3, Math.round(w * 0.16)) + 2;
      return [x + t, y + t, w - 2 * t, w - 2 * t];
    },
  },
  {
    name: 'house',
    aspect: 1.1,
    composite: true,
    build: (x, y, w, h, c) => {
      const roofH = h * 0.42;
      const bx0 = x + w * 0.1;
      const bx1 = x + w * 0.9;
      const bw = bx1 - bx0;
      return [
        { name: 'wall', prims: [rect(bx0, y + roofH, bx1, y + h)], color: c, main: true },
        { name: 'roof', prims: [polygon([x, y + roofH, x + w, y + roofH, x + w / 2, y])], color: shade(c, 0.55), main: false },
        { name: 'door', prims: [rect(bx0 + bw * 0.55, y + h * 0.68, bx0 + bw * 0.85, y + h)], color: COLORS.brown, main: false },
        { name: 'window', prims: [rect(bx0 + bw * 0.12, y + h * 0.55, bx0 + bw * 0.42, y + h * 0.75)], color: [170, 220, 250], main: false },
      ];
    },
  },
  {
    name: 'tree',
    aspect: 1.4,
    composite: true,
    build: (x, y, w, h, c) => [
      { name: 'trunk', prims: [rect(x + w * 0.38, y + h * 0.5, x + w * 0.62, y + h)], color: COLORS.brown, main: false },
      { name: 'crown', prims: [ellipse(x + w / 2, y + h * 0.33, w / 2, h * 0.33)], color: c, main: true },
    ],
  },
  {
    name: 'flower',
    aspect: 1.6,
    composite: true,
    build: (x, y, w, h, c) => [
      { name: 'stem', prims: [rect(x + w * 0.44, y + w * 0.8, x + w * 0.56, y + h)], color: [40, 130, 40], main: false },
      { name: 'petals', prims: [ellipse(x + w / 2, y + w / 2, w / 2, w / 2)], color: c, main: true },
      { name: 'center', prims: [ellipse(x + w / 2, y + w / 2, w * 0.2, w * 0.2)], color: c === COLORS.yellow ? COLORS.orange : COLORS.yellow, main: false },
    ],
  },
  {
    name: 'car',
    aspect: 0.65,
    composite: true,
    build: (x, y, w, h, c) => {
      const r = w * 0.14;
      return [
        { name: 'cabin', prims: [rect(x + w * 0.25, y, x + w * 0.72, y + h * 0.4)], color: [190, 210, 225], main: false },
        { name: 'body', prims: [rect(x, y + h * 0.38, x + w, y + h - r)], color: c, main: true },
        { name: 'left wheel', prims: [ellipse(x + w * 0.24, y + h - r, r, r)], color: [40, 40, 40], main: false },
        { name: 'right wheel', prims: [ellipse(x + w * 0.76, y + h - r, r, r)], color: [40, 40, 40], main: false },
      ];
    },
  },
  {
    name: 'snowman',
    aspect: 2.35,
    composite: true,
    build: (x, y, w, h, c) => {
      const rb = w / 2;
      const rt = w * 0.36;
      const rh = w * 0.25;
      const yb = y + h - rb;
      const yt = yb - rb - rt + w * 0.08;
      const yh = yt - rt - rh + w * 0.06;
      return [
        { name: 'base', prims: [ellipse(x + w / 2, yb, rb, rb)], color: c, main: true },
        { name: 'torso', prims: [ellipse(x + w / 2, yt, rt, rt)], color: shade(c, 0.85), main: false },
        { name: 'head', prims: [ellipse(x + w / 2, yh, rh, rh)], color: shade(c, 0.7), main: false },
        { name: 'hat', prims: [rect(x + w * 0.32, y, x + w * 0.68, yh - rh * 0.5)], color: [30, 30, 30], main: false },
      ];
    },
  },
  {
    name: 'mushroom',
    aspect: 1,
    composite: true,
    build: (x, y, w, h, c) => [
      { name: 'stem', prims: [rect(x + w * 0.36, y + h * 0.5, x + w * 0.64, y + h)], color: [235, 220, 190], main: false },
      { name: 'cap', prims: [ellipse(x + w / 2, y + h * 0.55, w / 2, h * 0.55, true)], color: c, main: true },
    ],
  },
];

export const CLASS_BY_NAME: ReadonlyMap<string, ClassDef> = new Map(CLASSES.map((c) => [c.name, c]));
export const SIMPLE_CLASSES = CLASSES.filter((c) => !c.composite && !c.container);
export const CONTAINER_CLASSES = CLASSES.filter((c) => c.container);
export const COMPOSITE_CLASSES = CLASSES.filter((c) => c.composite);
export const TOUCHABLE_CLASSES = CLASSES.filter((c) => c.touchable);
