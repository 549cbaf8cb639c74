// Writes one column segment (docs/index-format.md) in a single streaming pass: lines are buffered
// up to 4 MiB, hashed (SHA-256) and written with synchronous writes; close() fsyncs and returns
// the byte count and checksum for the manifest. Also the plain append-buffered file writer the
// build uses for its temporary bucket files.
//
// Concurrency model: synchronous file I/O on one file descriptor; one writer per file, used by
// one build at a time.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { SEGMENT_FORMAT, SEGMENT_FORMAT_VERSION } from '../core/index-manifest.js';
import type { Bidword, Customer } from '../core/model.js';

const FLUSH_AT = 4 << 20;

/** Buffered appends to one file, optionally hashed. */
export class BufferedFile {
  private readonly fd: number;
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly hash?: Hash,
    private readonly flushAt = FLUSH_AT,
  ) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
    if (this.pending >= this.flushAt) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.pending = 0;
    if (this.hash === undefined) {
      // No checksum wanted: let writeSync encode the string (one copy fewer).
      const written = writeSync(this.fd, text);
      const expected = Buffer.byteLength(text);
      if (written !== expected) {
        throw new Error(`short write to ${this.path}: ${written} of ${expected} bytes`);
      }
      this.bytes += written;
      return;
    }
    const buf = Buffer.from(text, 'utf8');
    this.hash.update(buf);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    this.bytes += buf.length;
  }

  /** Flushes, optionally fsyncs, closes. */
  close(sync: boolean): void {
    this.flush();
    if (sync) fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

export interface SegmentCounts {
  customers: number;
  offers: number;
  onlineOffers: number;
  bidwords: number;
  negatives: number;
  pendingBidwords: number;
}

export class SegmentWriter {
  private readonly hash = createHash('sha256');
  private readonly file: BufferedFile;
  readonly counts: SegmentCounts = {
    customers: 0,
    offers: 0,
    onlineOffers: 0,
    bidwords: 0,
    negatives: 0,
    pendingBidwords: 0,
  };

  constructor(path: string, header: { version: string; column: number; columns: number; watermark: number }) {
    this.file = new BufferedFile(path, this.hash);
    this.file.write(
      `${JSON.stringify({ t: 'h', format: SEGMENT_FORMAT, formatVersion: SEGMENT_FORMAT_VERSION, ...header })}\n`,
    );
  }

  customer(json: string): void {
    this.file.write(`{"t":"c","d":${json}}\n`);
    this.counts.customers++;
  }

  /**
   * One offer line from already-serialized parts: `offerJson` is the Offer, `titleNormJson` the
   * JSON string of its normalized title, `bidwordJsons` its bidwords as SegmentBidword JSON arrays.
   */
  offer(
    offerJson: string,
    online: boolean,
    titleNormJson: string,
    bidwordJsons: readonly string[],
    negatives: number,
  ): void {
    this.file.write(`{"t":"o","d":${offerJson},"n":${titleNormJson},"b":[${bidwordJsons.join(',')}]}\n`);
    this.counts.offers++;
    if (online) this.counts.onlineOffers++;
    this.counts.bidwords += bidwordJsons.length - negatives;
    this.counts.negatives += negatives;
  }

  /** A bidword whose offer is not in the snapshot. */
  pending(offerId: string, bidwordJson: string): void {
    this.file.write(`{"t":"p","o":${JSON.stringify(offerId)},"b":${bidwordJson}}\n`);
    this.counts.pendingBidwords++;
  }

  /** Writes the footer, fsyncs and closes; returns size and SHA-256 of the whole file. */
  finish(): { bytes: number; sha256: string } {
    const c = this.counts;
    this.file.write(
      `${JSON.stringify({ t: 'e', customers: c.customers, offers: c.offers, bidwords: c.bidwords, negatives: c.negatives, pendingBidwords: c.pendingBidwords })}\n`,
    );
    this.file.close(true);
    return { bytes: this.file.bytes, sha256: this.hash.digest('hex') };
  }

  /** Closes without finishing (the build failed); the file is deleted with the temp folder. */
  abandon(): void {
    try {
      this.file.close(false);
    } catch {
      // already closed
    }
  }
}

/** Serialized customer for a segment line (the validated row, compact). */
export function customerJson(c: Customer): string {
  return JSON.stringify(c);
}

/** A validated bidword as a SegmentBidword JSON array (core/index-manifest.ts). */
export function segmentBidwordJson(b: Bidword, norm: string): string {
  const bid = b.bidMicros ?? 0;
  return norm === b.keyword
    ? JSON.stringify([b.id, b.keyword, b.matchType, bid])
    : JSON.stringify([b.id, b.keyword, b.matchType, bid, norm]);
}
