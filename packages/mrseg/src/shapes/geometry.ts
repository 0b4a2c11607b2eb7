/**
 * Drawing primitives of MRSeg-Shapes. A pixel (i, j) belongs to a primitive when its centre (i + 0.5, j + 0.5)
 * satisfies `contains`; the same test writes the colour and the label map, so masks match the pixels exactly.
 */

export interface Primitive {
  /** Integer pixel bounds [x0, y0, x1, y1) that enclose every covered pixel. */
  bounds: [number, number, number, number];
  contains(x: number, y: number): boolean;
}

function bounds(x0: number, y0: number, x1: number, y1: number): [number, number, number, number] {
  return [Math.floor(x0), Math.floor(y0), Math.ceil(x1), Math.ceil(y1)];
}

export function rect(x0: number, y0: number, x1: number, y1: number): Primitive {
  return { bounds: bounds(x0, y0, x1, y1), contains: (x, y) => x >= x0 && x < x1 && y >= y0 && y < y1 };
}

export function ellipse(cx: number, cy: number, rx: number, ry: number, upperHalfOnly = false): Primitive {
  return {
    bounds: bounds(cx - rx, cy - ry, cx + rx, upperHalfOnly ? cy : cy + ry),
    contains: (x, y) => {
      if (upperHalfOnly && y > cy) return false;
      const dx = (x - cx) / rx;
      const dy = (y - cy) / ry;
      return dx * dx + dy * dy <= 1;
    },
  };
}

export function ring(cx: number, cy: number, rInner: number, rOuter: number): Primitive {
  return {
    bounds: bounds(cx - rOuter, cy - rOuter, cx + rOuter, cy + rOuter),
    contains: (x, y) => {
      const d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
      return d <= rOuter * rOuter && d > rInner * rInner;
    },
  };
}

export function frame(x0: number, y0: number, x1: number, y1: number, t: number): Primitive {
  return {
    bounds: bounds(x0, y0, x1, y1),
    contains: (x, y) =>
      x >= x0 && x < x1 && y >= y0 && y < y1 && !(x >= x0 + t && x < x1 - t && y >= y0 + t && y < y1 - t),
  };
}

/** Even-odd polygon test over points [x0, y0, x1, y1, ...]. */
export function polygon(pts: readonly number[]): Primitive {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < pts.length; i += 2) {
    minX = Math.min(minX, pts[i]);
    maxX = Math.max(maxX, pts[i]);
    minY = Math.min(minY, pts[i + 1]);
    maxY = Math.max(maxY, pts[i + 1]);
  }
  const n = pts.length / 2;
  return {
    bounds: bounds(minX, minY, maxX, maxY),
    contains: (x, y) => {
      let inside = false;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const xi = pts[2 * i];
        const yi = pts[2 * i + 1];
        const xj = pts[2 * j];
        const yj = pts[2 * j + 1];
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    },
  };
}

/** A segment of the given width with round caps. */
export function thickLine(x0: number, y0: number, x1: number, y1: number, width: number): Primitive {
  const r = width / 2;
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy || 1;
  return {
    bounds: bounds(Math.min(x0, x1) - r, Math.min(y0, y1) - r, Math.max(x0, x1) + r, Math.max(y0, y1) + r),
    contains: (x, y) => {
      const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / len2));
      const ex = x0 + t * dx - x;
      const ey = y0 + t * dy - y;
      return ex * ex + ey * ey <= r * r;
    },
  };
}

/** Regular star / polygon points around (cx, cy): `spikes` outer points alternating with inner radius. */
export function starPoints(cx: number, cy: number, rOuter: number, rInner: number, spikes: number): number[] {
  const pts: number[] = [];
  for (let i = 0; i < spikes * 2; i++) {
    const r = i % 2 === 0 ? rOuter : rInner;
    const a = -Math.PI / 2 + (i * Math.PI) / spikes;
    pts.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  return pts;
}

export function regularPolygonPoints(cx: number, cy: number, r: number, sides: number, rotation = 0): number[] {
  const pts: number[] = [];
  for (let i = 0; i < sides; i++) {
    const a = rotation + (2 * Math.PI * i) / sides;
    pts.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  return pts;
}
