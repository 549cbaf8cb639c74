// Streams lines to one output file with backpressure: lines collect in a small string buffer,
// each full buffer goes to a fs.WriteStream, and when the stream's own buffer is full the caller
// awaits 'drain' before producing more, so memory stays flat however large the file grows.
// Writes go to "<name>.partial" and are renamed into place on close(), so an interrupted run
// never leaves a truncated file under its real name. Counts rows and bytes and hashes the bytes
// (sha256) on the way. One writer per file, used by one async producer at a time.
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';

/** Chunk handed to the fs stream at a time (and its highWaterMark). */
const CHUNK_CHARS = 256 * 1024;

export interface FileStats {
  rows: number;
  bytes: number;
  sha256: string;
}

export class LineWriter {
  readonly path: string;
  private readonly partial: string;
  private readonly stream: WriteStream;
  private readonly hash: Hash = createHash('sha256');
  private buffer = '';
  private rows = 0;
  private bytes = 0;
  private failure: Error | undefined;

  constructor(path: string) {
    this.path = path;
    this.partial = `${path}.partial`;
    this.stream = createWriteStream(this.partial, { highWaterMark: CHUNK_CHARS });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  /**
   * Adds one line (a newline is appended). Returns a promise only when the caller must wait for
   * the disk to catch up: `const wait = w.line(s); if (wait) await wait;`.
   */
  line(text: string): Promise<void> | undefined {
    this.buffer += `${text}\n`;
    this.rows++;
    if (this.buffer.length < CHUNK_CHARS) return undefined;
    return this.flush();
  }

  private flush(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.buffer === '') return undefined;
    const chunk = Buffer.from(this.buffer, 'utf8');
    this.buffer = '';
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.stream.write(chunk)) return undefined;
    return once(this.stream, 'drain').then(() => undefined);
  }

  /** Writes what is left, closes the file and renames it into place. */
  async close(): Promise<FileStats> {
    const wait = this.flush();
    if (wait) await wait;
    this.stream.end();
    if (!this.stream.closed) await once(this.stream, 'close');
    if (this.failure !== undefined) throw this.failure;
    await rename(this.partial, this.path);
    return { rows: this.rows, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Stops writing and removes the partial file (after an error elsewhere). */
  async abort(): Promise<void> {
    this.stream.destroy();
    if (!this.stream.closed) await once(this.stream, 'close').catch(() => undefined);
    await rm(this.partial, { force: true });
  }
}
