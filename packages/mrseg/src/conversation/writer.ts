/**
 * Streams a JSON array to disk one item at a time: items go to "<path>.tmp-<pid>", and `close()` renames the
 * temp file onto `path`, so a reader never sees a half-written file and an interrupted run leaves no output.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export class JsonArrayWriter {
  private readonly tmp: string;
  private readonly stream: WriteStream;
  private count = 0;
  private closed = false;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = `${path}.tmp-${process.pid}`;
    this.stream = createWriteStream(this.tmp, { encoding: 'utf8' });
    this.stream.write('[');
  }

  /** Number of items written so far. */
  get length(): number {
    return this.count;
  }

  /** Appends one item; resolves once the stream can take more (back-pressure). */
  async write(item: unknown): Promise<void> {
    if (this.closed) throw new Error(`JsonArrayWriter: ${this.path} is already closed`);
    const ok = this.stream.write(`${this.count === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`);
    this.count++;
    if (!ok) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }

  /** Finishes the array and renames the temp file onto the target path. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(this.count === 0 ? ']\n' : '\n]\n', () => resolve());
    });
    renameSync(this.tmp, this.path);
  }

  /** Drops the temp file without touching the target path. */
  abort(): void {
    this.closed = true;
    // The open and the first writes are asynchronous: destroying the stream while they are in flight makes it emit
    // ERR_STREAM_DESTROYED, which with no listener would be an uncaught exception. The temp file is dropped anyway, and
    // again once the stream has closed (its open may create the file after the first removal).
    this.stream.on('error', () => undefined);
    this.stream.once('close', () => rmSync(this.tmp, { force: true }));
    this.stream.destroy();
    rmSync(this.tmp, { force: true });
  }
}
