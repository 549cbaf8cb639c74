// The page-view (PV) log: one core/pv-record.ts record per answered request, sent to the Kafka pv
// topic in small batches. The answer does NOT wait for Kafka: append() serializes the record into
// a bounded in-memory buffer and returns; a timer sends the buffer every `flushMs` ms (or at once
// when a batch is full) through a producer with acks=all. This trades durability for latency:
//   - lost on a crash (kill -9, power): the records still buffered or in flight, i.e. at most the
//     last ~flushMs ms of page views plus one batch; a graceful SIGTERM flushes everything first;
//   - lost when Kafka is down longer than the buffer lasts: records beyond `bufferMax` are dropped
//     and counted (imatch_blender_pv_dropped_total), the query path never blocks on Kafka;
//   - never lost silently: every drop is counted and logged (rate-limited).
// Clicks do not depend on the PV log for billing (the price travels in the click token), so a lost
// PV costs reporting, not money.
//
// Concurrency: single event loop; at most one send is in flight (keeps records in order and gives
// natural back-pressure); a failed batch goes back to the front of the buffer and is retried with
// exponential backoff (capped at 1 s).
import type { Logger } from '../../core/logger.js';
import type { PvRecord } from '../../core/pv-record.js';

export interface PvMessage {
  key: string;
  value: string;
  /** Kafka record timestamp, ms since the epoch as text (kafkajs's form). */
  timestamp: string;
}

/** Where batches go: a Kafka producer with acks=all in the server, an array in tests. */
export interface PvSink {
  /** Resolves once the batch is durable; rejects when it is not. */
  send(messages: PvMessage[]): Promise<void>;
}

export interface PvLogCounters {
  sent(count: number): void;
  dropped(count: number): void;
  failed(): void;
}

export interface PvLogOptions {
  sink: PvSink;
  log: Logger;
  flushMs: number;
  batchSize: number;
  bufferMax: number;
  counters?: PvLogCounters;
}

const NO_COUNTERS: PvLogCounters = { sent() {}, dropped() {}, failed() {} };
const MAX_BACKOFF_MS = 1000;

export class PvLog {
  private buffer: PvMessage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private inFlightSize = 0;
  private failures = 0;
  private droppedSinceLog = 0;
  private lastDropLogMs = 0;
  private closed = false;
  /** Set when close() stopped waiting: a send still in flight is then not retried. */
  private abandoned = false;
  private readonly counters: PvLogCounters;

  constructor(private readonly opts: PvLogOptions) {
    this.counters = opts.counters ?? NO_COUNTERS;
  }

  /** Records waiting in memory (not yet acknowledged by Kafka). */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Queues one record; never blocks, never throws. Returns false when it was dropped. */
  append(record: PvRecord): boolean {
    if (this.closed || this.buffer.length >= this.opts.bufferMax) {
      this.drop(1);
      return false;
    }
    this.buffer.push({ key: record.pvId, value: JSON.stringify(record), timestamp: String(record.timeMs) });
    if (this.buffer.length >= this.opts.batchSize && this.inFlight === undefined) this.kick(0);
    else if (this.timer === undefined && this.inFlight === undefined) this.kick(this.opts.flushMs);
    return true;
  }

  /** Sends everything buffered now; resolves when the buffer is empty or `deadlineMs` passed. */
  async flush(deadlineMs = 5000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while ((this.buffer.length > 0 || this.inFlight !== undefined) && Date.now() < until) {
      if (this.inFlight === undefined) {
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.timer = undefined;
        this.sendOne();
      }
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        this.inFlight,
        new Promise((r) => {
          timeout = setTimeout(r, Math.max(1, until - Date.now()));
        }),
      ]);
      clearTimeout(timeout);
    }
  }

  /**
   * Stops accepting, flushes what it can within `deadlineMs`; returns how many records were not
   * confirmed by Kafka (still buffered, or in a send that had not answered by the deadline).
   */
  async close(deadlineMs = 5000): Promise<number> {
    this.closed = true;
    await this.flush(deadlineMs);
    this.abandoned = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const buffered = this.buffer.length;
    const left = buffered + this.inFlightSize;
    if (left > 0) {
      this.opts.log.error(
        { unsent: buffered, unconfirmed: this.inFlightSize },
        'page-view records not sent before shutdown',
      );
      this.counters.dropped(buffered);
      this.buffer = [];
    }
    return left;
  }

  private kick(delayMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.inFlight === undefined) this.sendOne();
    }, delayMs);
    this.timer.unref();
  }

  private sendOne(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.opts.batchSize);
    this.inFlightSize = batch.length;
    this.inFlight = this.opts.sink.send(batch).then(
      () => {
        this.failures = 0;
        this.counters.sent(batch.length);
        this.inFlight = undefined;
        this.inFlightSize = 0;
        if (this.abandoned) return;
        if (this.buffer.length >= this.opts.batchSize) this.kick(0);
        else if (this.buffer.length > 0) this.kick(this.opts.flushMs);
      },
      (err: unknown) => {
        this.failures++;
        this.counters.failed();
        this.inFlight = undefined;
        this.inFlightSize = 0;
        if (this.abandoned) {
          // close() has given up on this batch already: count it, do not retry after shutdown.
          this.counters.dropped(batch.length);
          this.opts.log.error({ err, dropped: batch.length }, 'page-view batch failed after shutdown');
          return;
        }
        // Back to the front, in order; what no longer fits is dropped (newest first).
        const room = Math.max(0, this.opts.bufferMax - this.buffer.length);
        const keep = batch.length <= room ? batch : batch.slice(0, room);
        if (keep.length < batch.length) this.drop(batch.length - keep.length);
        this.buffer = keep.concat(this.buffer);
        const backoff = Math.min(MAX_BACKOFF_MS, this.opts.flushMs * 2 ** this.failures);
        this.opts.log.warn({ err, failures: this.failures, backoffMs: backoff }, 'page-view batch not sent');
        this.kick(backoff);
      },
    );
  }

  private drop(count: number): void {
    this.counters.dropped(count);
    this.droppedSinceLog += count;
    const now = Date.now();
    if (now - this.lastDropLogMs >= 10_000) {
      this.opts.log.error(
        { dropped: this.droppedSinceLog, bufferMax: this.opts.bufferMax },
        'page-view buffer full: records dropped',
      );
      this.droppedSinceLog = 0;
      this.lastDropLogMs = now;
    }
  }
}
