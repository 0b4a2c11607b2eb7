/** Command I/O, injectable for tests. */
import type { Readable } from 'node:stream';
import { progressOn, type Progress } from './progress.ts';

export interface Io {
  out: (this: void, s: string) => void;
  err: (this: void, s: string) => void;
  stdin: Readable;
  /** Progress bars (download, load, image encoding, rounds); absent or quiet when not a terminal. */
  progress?: Progress;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdin: process.stdin,
  progress: progressOn(process.stderr),
};
