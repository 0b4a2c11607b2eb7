/**
 * Progress on a terminal: one status line redrawn in place (a bar with bytes for downloads and loading, a label for
 * image encoding and rounds), erased when done. Quiet when the stream is not a TTY (pipes, CI logs, tests).
 */
import type { LoadProgress } from '@segllm/core';

export interface StatusStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface Progress {
  /** A bar: `label [#####-----] 50% 1.2/2.4 MB`. */
  bar(label: string, done: number, total: number): void;
  /** A line without a bar (work that reports no fraction). */
  status(label: string): void;
  /** Erases the line. */
  clear(): void;
}

const mb = (b: number): string => (b / 1e6).toFixed(b < 1e7 ? 2 : 1);

export function progressOn(stream: StatusStream, minIntervalMs = 100): Progress {
  if (!stream.isTTY) return { bar: () => undefined, status: () => undefined, clear: () => undefined };
  let shown = false;
  let last = 0;
  const draw = (line: string, force: boolean): void => {
    const now = performance.now();
    if (!force && now - last < minIntervalMs) return;
    last = now;
    const width = (stream.columns ?? 80) - 1;
    stream.write(`\r\x1b[2K${line.slice(0, width)}`);
    shown = true;
  };
  return {
    bar(label, done, total) {
      const f = total > 0 ? Math.min(1, done / total) : 0;
      const n = 24;
      const fill = Math.round(f * n);
      draw(`${label} [${'#'.repeat(fill)}${'-'.repeat(n - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${mb(done)}/${total > 0 ? mb(total) : '?'} MB`, done >= total);
    },
    status: (label) => draw(`${label} ...`, true),
    clear() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

/** Feeds loadSegLLM's progress events into a bar ('downloading <file>', then 'loading weights'). */
export function loadBar(p: Progress): (e: LoadProgress) => void {
  return (e) => (e.phase === 'download' ? p.bar(`downloading ${e.name}${e.fromCache ? ' (cached)' : ''}`, e.loaded, e.total) : p.bar('loading weights', e.loaded, e.total));
}
