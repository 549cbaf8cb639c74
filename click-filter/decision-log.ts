// Writes click decisions to the clicks topic and billable clicks also to the settlement topic,
// in batches, and tells each click when its records are durable.
//
// Batching: each producer has at most one produce request in flight (what an idempotent producer
// needs: retries never duplicate or reorder); while all of them are busy, new decisions queue, and
// the first producer that is free takes everything queued (up to maxBatch) in its next request.
// Under load batches grow by themselves, so throughput follows the broker's round trip instead of
// one request per click. Two producers (the default) halve the time a click waits for the request
// before its own. Both topics are written by one sender call (acks=all; see server.ts), and a click
// is durable when both are. Records of different clicks are independent, so no order between
// producers is needed.
//
// A free producer does not send the moment a decision is written but at the end of that turn of
// the event loop, so the clicks read from the sockets in one turn share a request. Sending at once
// made a request of about 2 decisions at 5,000 clicks/s (2,300 requests a second: a round trip
// takes about half a millisecond, so a producer was nearly always free), and a produce request
// costs the filter and the broker far more than a record: the filter used 78-82% of a core;
// sending at the end of the turn, 66-68%, the broker 30% less CPU, the same median latency
// (BENCHMARKS.md, "Night of 2026-12-08"). `lingerMs` goes further for an operator who trades
// latency for CPU: a free producer waits until the oldest queued decision is that old (1 ms: the
// filter at 57-59% of a core, the broker at about half the CPU, the median click 0.7 ms slower).
//
// Failure: a request that fails (after the Kafka client's own retries) puts its decisions back at the
// front of the queue and tries again after a back-off, until they are older than maxRetryMs;
// then they are dropped, counted and logged in full at error level (the log then is the only
// record). A full queue (maxPending) drops new decisions the same way. Whoever waits on a
// decision (the click route) learns whether it became durable; the route itself waits at most
// its own deadline (see routes/click.ts).
//
// Concurrency: event loop only; one send in flight; the queue is an array drained from the front.
import type { ClickDecision, Settlement } from '../core/click-records.js';
import type { Logger } from '../core/logger.js';

export interface TopicMessages {
  topic: string;
  messages: { key: string; value: string; timestamp: string }[];
}

/** Sends one multi-topic produce request; resolves when acknowledged by all in-sync replicas. */
export type BatchSender = (batch: TopicMessages[]) => Promise<void>;

export interface DecisionLogOptions {
  /** One sender per producer; each has at most one request in flight. */
  send: BatchSender | BatchSender[];
  clicksTopic: string;
  settlementTopic: string;
  maxBatch: number;
  /**
   * How long a free producer waits for more decisions before it sends a batch smaller than
   * maxBatch (ms; 0: at the end of the turn that wrote them). See the header.
   */
  lingerMs?: number;
  maxPending: number;
  maxRetryMs: number;
  now: () => number;
  log: Logger;
  /** After each acknowledged request: decisions in it and how long Kafka took (seconds). */
  onBatch?: (size: number, seconds: number) => void;
  onFailure?: (err: unknown) => void;
  onDropped?: (why: 'queue-full' | 'retry-expired', n: number) => void;
}

interface Entry {
  decision: ClickDecision;
  settlement: Settlement | undefined;
  enqueuedAt: number;
  done: (durable: boolean) => void;
}

export class DecisionLog {
  private queue: Entry[] = [];
  private readonly idle: BatchSender[];
  private readonly flights = new Set<Promise<void>>();
  private backoffTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** A pump is due at the end of this turn of the event loop (write() coalesces there). */
  private turnPending = false;
  private readonly lingerMs: number;
  private closed = false;
  /** False after a failed request, true again after a successful one. */
  healthy = true;
  written = 0;

  constructor(private readonly o: DecisionLogOptions) {
    this.idle = Array.isArray(o.send) ? [...o.send] : [o.send];
    this.lingerMs = o.lingerMs ?? 0;
    if (this.idle.length === 0) throw new RangeError('DecisionLog needs at least one sender');
  }

  /** Queues a decision; the promise resolves true once durable in Kafka, false if dropped. */
  write(decision: ClickDecision, settlement: Settlement | undefined): Promise<boolean> {
    if (this.queue.length >= this.o.maxPending) {
      this.drop([{ decision, settlement, enqueuedAt: this.o.now(), done: () => {} }], 'queue-full');
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      this.queue.push({ decision, settlement, enqueuedAt: this.o.now(), done: resolve });
      if (!this.turnPending) {
        this.turnPending = true;
        setImmediate(this.endOfTurn);
      }
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Waits until the queue is empty or the deadline passes; returns how many are left. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.flights.size > 0) && Date.now() < deadline) {
      if (this.flights.size > 0)
        await Promise.race([...this.flights, sleep(Math.max(1, deadline - Date.now()))]);
      else await sleep(20);
    }
    return this.queue.length;
  }

  /** Stops sending; what is still queued is dropped (and logged). */
  close(): void {
    this.closed = true;
    clearTimeout(this.backoffTimer);
    clearTimeout(this.lingerTimer);
    if (this.queue.length > 0) this.drop(this.queue.splice(0), 'retry-expired');
  }

  private readonly endOfTurn = (): void => {
    this.turnPending = false;
    this.pump();
  };

  private pump(): void {
    while (this.idle.length > 0 && !this.backoffTimer && !this.closed && this.queue.length > 0) {
      if (this.lingerMs > 0 && this.queue.length < this.o.maxBatch) {
        const waited = this.o.now() - this.queue[0]!.enqueuedAt;
        if (waited < this.lingerMs) {
          this.lingerTimer ??= setTimeout(() => {
            this.lingerTimer = undefined;
            this.pump();
          }, this.lingerMs - waited);
          return;
        }
      }
      const sender = this.idle.pop()!;
      const batch = this.queue.splice(0, this.o.maxBatch);
      const flight: Promise<void> = this.sendBatch(sender, batch).finally(() => {
        this.flights.delete(flight);
        this.idle.push(sender);
        this.pump();
      });
      this.flights.add(flight);
    }
  }

  private async sendBatch(sender: BatchSender, batch: Entry[]): Promise<void> {
    const clicks: TopicMessages = { topic: this.o.clicksTopic, messages: [] };
    const settlement: TopicMessages = { topic: this.o.settlementTopic, messages: [] };
    for (const e of batch) {
      const ts = String(e.decision.clickedAtMs);
      clicks.messages.push({ key: e.decision.clickId, value: JSON.stringify(e.decision), timestamp: ts });
      if (e.settlement)
        settlement.messages.push({
          key: e.settlement.clickId,
          value: JSON.stringify(e.settlement),
          timestamp: ts,
        });
    }
    const started = process.hrtime.bigint();
    try {
      await sender(settlement.messages.length > 0 ? [clicks, settlement] : [clicks]);
      this.healthy = true;
      this.backoffMs = 0;
      this.written += batch.length;
      this.o.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      for (const e of batch) e.done(true);
    } catch (err) {
      this.healthy = false;
      this.o.onFailure?.(err);
      const now = this.o.now();
      const expired = batch.filter((e) => now - e.enqueuedAt > this.o.maxRetryMs);
      const retry = batch.filter((e) => now - e.enqueuedAt <= this.o.maxRetryMs);
      if (expired.length > 0) this.drop(expired, 'retry-expired');
      this.queue.unshift(...retry);
      this.backoffMs = Math.min(5_000, Math.max(100, this.backoffMs * 2));
      this.o.log.warn(
        { err, retrying: retry.length, dropped: expired.length, backoffMs: this.backoffMs },
        'writing click decisions to Kafka failed',
      );
      clearTimeout(this.backoffTimer);
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined;
        this.pump();
      }, this.backoffMs);
    }
  }

  private drop(entries: Entry[], why: 'queue-full' | 'retry-expired'): void {
    this.o.onDropped?.(why, entries.length);
    for (const e of entries) {
      // The full records, so an operator can replay them from the log.
      this.o.log.error(
        { why, decision: e.decision, settlement: e.settlement },
        'click decision not written to Kafka',
      );
      e.done(false);
    }
  }
}

/** A pause that never keeps the process alive by itself (drain's deadline at shutdown). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
