/** Command I/O, injectable for tests. */
import type { Readable } from 'node:stream';

export interface Io {
  out: (this: void, s: string) => void;
  err: (this: void, s: string) => void;
  stdin: Readable;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdin: process.stdin,
};
