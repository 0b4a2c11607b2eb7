/**
 * Random-access byte sources, so a safetensors file is read tensor by tensor and never as one buffer:
 * a Node file (FileHandle reads at offsets), an in-memory Uint8Array/ArrayBuffer, or a browser Blob/File.
 */
import { SafetensorsError } from './errors.ts';
import { nodeFs } from '#platform';

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A label for error messages (a path, a file name). */
  readonly label: string;
  /** Exactly `length` bytes from `offset`. The result may alias the source: copy before mutating it. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: fill `target` with the bytes from `offset` (saves a copy for file sources). */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  close?(): Promise<void>;
}

function checkRange(source: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > source.size) {
    throw new SafetensorsError(
      'READ_FAILED',
      `read of ${length} bytes at ${offset} is outside the ${source.size}-byte source`,
      { file: source.label },
    );
  }
}

/** An in-memory source. Reads return views of `bytes` (no copy). */
export function bytesSource(bytes: Uint8Array | ArrayBuffer, label = '<bytes>'): ByteSource {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const source: ByteSource = {
    size: u8.byteLength,
    label,
    read(offset, length) {
      checkRange(source, offset, length);
      return Promise.resolve(u8.subarray(offset, offset + length));
    },
  };
  return source;
}

/** A browser Blob or File: each read is `blob.slice(...).arrayBuffer()`, so only the requested bytes load. */
export function blobSource(blob: Blob, label = (blob as { name?: string }).name ?? '<blob>'): ByteSource {
  const source: ByteSource = {
    size: blob.size,
    label,
    async read(offset, length) {
      checkRange(source, offset, length);
      const buf = await blob.slice(offset, offset + length).arrayBuffer();
      if (buf.byteLength !== length) {
        throw new SafetensorsError('READ_FAILED', `got ${buf.byteLength} of ${length} bytes at ${offset}`, { file: label });
      }
      return new Uint8Array(buf);
    },
  };
  return source;
}

/** Largest single FileHandle.read (Node Buffers and reads are limited to about 2 GiB). */
const MAX_CHUNK = 1 << 28;

/** A Node file opened read-only; reads go through FileHandle.read at explicit positions. */
export async function fileSource(path: string): Promise<ByteSource> {
  // #platform: browser bundles get a stub that throws NodeOnlyError, so they never contain node:fs.
  const fs = await nodeFs(`reading the file ${path}`);
  const handle = await fs.open(path, 'r').catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    if (code === 'EACCES' || code === 'EPERM') throw new SafetensorsError('READ_FAILED', `${path} cannot be read (${code}): check its permissions`, { file: path });
    throw e;
  });
  let size: number;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new SafetensorsError('NOT_A_FILE', `${path} is a folder or device, not a safetensors file: name the file itself`, { file: path });
    size = st.size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  let closed = false;
  const source: ByteSource = {
    size,
    label: path,
    async readInto(offset, target) {
      if (closed) throw new SafetensorsError('CLOSED', 'the file was closed: open it again to read', { file: path });
      checkRange(source, offset, target.byteLength);
      let done = 0;
      while (done < target.byteLength) {
        const want = Math.min(MAX_CHUNK, target.byteLength - done);
        const { bytesRead } = await handle.read(target, done, want, offset + done);
        if (bytesRead === 0) {
          throw new SafetensorsError(
            'READ_FAILED',
            `the file ended after ${offset + done} bytes while reading ${target.byteLength} bytes at ${offset}: ` +
              'it was truncated or replaced after opening; open it again',
            { file: path },
          );
        }
        done += bytesRead;
      }
    },
    async read(offset, length) {
      const out = new Uint8Array(length);
      await source.readInto!(offset, out);
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
  return source;
}
