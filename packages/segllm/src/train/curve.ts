/** The loss curve of a run as an SVG (total, text and mask-decoder losses by step, log scale), next to its checkpoints. */

export interface CurvePoint {
  step: number;
  loss: number;
  text: number;
  seg: number | null;
}

const W = 640;
const H = 360;
const PAD = { l: 56, r: 16, t: 28, b: 40 };
const SERIES: { key: 'loss' | 'text' | 'seg'; colour: string; label: string }[] = [
  { key: 'loss', colour: '#1f77b4', label: 'total' },
  { key: 'text', colour: '#2ca02c', label: 'text CE' },
  { key: 'seg', colour: '#d62728', label: 'mask decoder' },
];

/** An SVG document plotting the records (log10 y axis). */
export function lossCurveSvg(points: readonly CurvePoint[], title = 'SegLLM training loss'): string {
  const vals = points.flatMap((p) => [p.loss, p.text, p.seg ?? NaN]).filter((v) => Number.isFinite(v) && v > 0);
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const lo = Math.floor(Math.log10(Math.min(...vals, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...vals, 10)));
  const x = (s: number) => PAD.l + ((W - PAD.l - PAD.r) * s) / maxStep;
  const y = (v: number) => PAD.t + ((H - PAD.t - PAD.b) * (hi - Math.log10(v))) / Math.max(1, hi - lo);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>`);
  for (let e = lo; e <= hi; e++) out.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/><text x="${PAD.l - 6}" y="${y(10 ** e) + 4}" text-anchor="end">1e${e}</text>`);
  for (let i = 0; i <= 4; i++) {
    const s = Math.round((maxStep * i) / 4);
    out.push(`<text x="${x(s)}" y="${H - PAD.b + 16}" text-anchor="middle">${s}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle">step</text>`);
  SERIES.forEach((sr, i) => {
    const pts = points.filter((p) => Number.isFinite(p[sr.key]) && (p[sr.key] as number) > 0).map((p) => `${x(p.step).toFixed(1)},${y(p[sr.key] as number).toFixed(1)}`);
    if (pts.length) out.push(`<polyline fill="none" stroke="${sr.colour}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    out.push(`<rect x="${W - PAD.r - 110}" y="${PAD.t + 4 + i * 16}" width="10" height="10" fill="${sr.colour}"/><text x="${W - PAD.r - 95}" y="${PAD.t + 13 + i * 16}">${sr.label}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Writes `<out>/loss.svg` (replaced by rename). */
export async function writeLossCurve(out: string, points: readonly CurvePoint[]): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const tmp = path.join(out, `.tmp-loss.svg-${process.pid}`);
  await fs.writeFile(tmp, lossCurveSvg(points));
  await fs.rename(tmp, path.join(out, 'loss.svg'));
}
