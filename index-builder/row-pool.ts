// Parallel row processing for the build: the main thread reads a snapshot file in 1 MiB chunks
// cut at line ends and hands each batch to a worker thread (row-worker.ts), which validates and
// normalizes it; results come back and are consumed strictly in file order, so duplicate-id
// checks, "first bad row" and bucket-file contents are exactly what a sequential pass gives.
//
// Concurrency model: N workers, at most 2N batches in flight (bounded memory); the consumer
// callback runs on the main thread, one batch at a time, in order.
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/worker-thread.js';
import {
  type BatchContext,
  type BatchKind,
  type BatchResult,
  keywordNormalizer,
  processBatch,
} from './row-batch.js';

interface Pending {
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

export class RowPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private next = 0;
  private failure: Error | undefined;

  private readonly inline: ((kind: BatchKind, text: string) => BatchResult) | undefined;

  /**
   * `size` worker threads (0 = process batches on the calling thread, for small snapshots), each
   * told the snapshot's customer ids and the bucket count once.
   */
  constructor(
    readonly size: number,
    customers: readonly string[],
    buckets: number,
  ) {
    if (size === 0) {
      const ctx: BatchContext = { buckets, customers: new Set(customers), keywordNorm: keywordNormalizer() };
      this.inline = (kind, text) => processBatch(kind, text, ctx);
    }
    for (let i = 0; i < size; i++) {
      const w = startWorker(import.meta.url, 'row-worker');
      w.postMessage({ type: 'init', customers, buckets });
      w.on('message', (m: { seq: number; result?: BatchResult; error?: string }) => {
        const p = this.pending.get(m.seq);
        if (p === undefined) return;
        this.pending.delete(m.seq);
        if (m.error !== undefined) p.reject(new Error(`build worker failed: ${m.error}`));
        else p.resolve(m.result!);
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`build worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  run(kind: BatchKind, text: string): Promise<BatchResult> {
    if (this.inline !== undefined) return Promise.resolve(this.inline(kind, text));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const seq = this.seq++;
    const worker = this.workers[this.next]!;
    this.next = (this.next + 1) % this.workers.length;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ type: 'batch', seq, kind, text });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

export interface ParallelRowsOptions {
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
}

/**
 * Reads `path`, processes it in batches on the pool, and calls `consume(result, firstLineNo)`
 * for each batch in file order (firstLineNo is the 1-based line number of the batch's first line).
 */
export async function parallelRows(
  pool: RowPool,
  kind: BatchKind,
  path: string,
  consume: (r: BatchResult, firstLineNo: number) => void,
  opts: ParallelRowsOptions = {},
): Promise<void> {
  const maxInFlight = Math.max(1, pool.size * 2);
  const inFlight: { result: Promise<BatchResult>; firstLine: number }[] = [];
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let nextLine = 1;
  let bytes = 0;
  const submit = (text: string) => {
    let lines = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
    const result = pool.run(kind, text);
    result.catch(() => undefined); // handled when awaited, in order
    inFlight.push({ result, firstLine: nextLine });
    nextLine += lines;
  };
  const drainTo = async (limit: number) => {
    while (inFlight.length > limit) {
      const head = inFlight.shift()!;
      consume(await head.result, head.firstLine);
    }
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    const text = rest + decoder.write(buf);
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      rest = text;
    } else {
      submit(text.slice(0, cut));
      rest = text.slice(cut + 1);
    }
    await drainTo(maxInFlight - 1);
    opts.onBytes?.(bytes);
    if (opts.signal?.aborted) throw opts.signal.reason;
  }
  rest += decoder.end();
  if (rest !== '') submit(rest);
  await drainTo(0);
  opts.onBytes?.(bytes);
}
