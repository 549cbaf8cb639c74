// isupdate: the searcher's real-time incremental path (seed 003's "实时增量索引构建"). It takes
// change messages as the Kafka consumer (consumer.ts) delivers them, keeps those this column needs,
// makes them durable in the local write-ahead log (wal.ts: one write + one fdatasync per
// micro-batch), and only then applies them to the live ColumnIndex. After a hot swap it replays
// the log past the new version's watermark into the new index before that index serves, and
// prunes segments the current version already contains.
//
// Which messages a column keeps: replay.ts relevant() (offers of this column by core/partition.ts,
// every customer and every bidword message; ColumnIndex.apply ignores what it does not hold).
//
// Concurrency model: Node's one thread, plus one async lock (#lock) that serializes the three
// things that touch the log or the index: ingest (WAL append+fsync, then apply), the replay on
// start, and a swap (replay into the next index, then install it). Queries never take the lock:
// ColumnIndex.apply and search are synchronous, so a query sees a whole message or none. Micro-
// batches (the Pora lesson): up to batchSize messages share one fsync; batchSize 1 = message by
// message. Kafka delivers what is there, so a lone change is never held back to fill a batch.
import type { Logger } from '../../../core/logger.js';
import type { ChangeMessage } from '../../../core/model.js';
import type { ColumnIndex } from '../index/column-index.js';
import type { IsUpdateMetrics } from './metrics.js';
import { relevant, replayWal } from './replay.js';
import type { Wal, WalRecord } from './wal.js';

/** How isupdate reaches the index the searcher serves (services/searcher/index-holder.ts). */
export interface LiveIndex {
  /** The index serving queries now; undefined before the first version is loaded. */
  current(): ColumnIndex | undefined;
}

/** A message as the consumer hands it over: where it came from and its raw value. */
export interface RawMessage {
  offset: number;
  value: Buffer | null;
}

export interface IsUpdateOptions {
  wal: Wal;
  live: LiveIndex;
  /** Messages per WAL append+fsync (>= 1). */
  batchSize: number;
  logger: Logger;
  metrics?: IsUpdateMetrics;
  /** Called with the live index's appliedId, at most once per publishIntervalMs (and at the end of a swap). */
  onApplied?: (appliedId: number) => void;
  publishIntervalMs?: number;
}

export interface IngestResult {
  /** Next offset of this partition that is durable in the WAL or needs no storing (commit this). */
  nextOffset: number;
  stored: number;
  applied: number;
}

export class IsUpdate {
  #o: IsUpdateOptions;
  #lock: Promise<void> = Promise.resolve();
  #lastPublish = 0;
  #publishTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** A loaded version that caught up but that the holder has not switched to yet. */
  #next: ColumnIndex | undefined;
  /** Watermark the WAL was last pruned for. */
  #prunedFor = -1;

  constructor(options: IsUpdateOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.#o = options;
  }

  get wal(): Wal {
    return this.#o.wal;
  }

  /**
   * The index holder's catch-up hook, run after a version is loaded and before it serves (also
   * for the first version at start-up). With consumption paused, replays every WAL message past
   * `next`'s watermark into `next`. Until the holder has switched to `next`, every batch applied
   * afterwards goes to both the serving index and `next` (apply is idempotent), so nothing
   * stored between the replay and the switch is missing from the new version.
   */
  async catchUp(next: ColumnIndex): Promise<number> {
    return this.#exclusive(async () => {
      const t0 = performance.now();
      const n = await this.#replayInto(next);
      if (this.#o.live.current() !== undefined) this.#next = next;
      this.#o.logger.info(
        {
          version: next.version,
          watermark: next.watermark,
          replayed: n,
          appliedId: next.appliedId,
          ms: Math.round(performance.now() - t0),
        },
        'replayed write-ahead log past the version watermark before it serves',
      );
      return n;
    });
  }

  /** Call after the holder switched versions: prunes WAL segments the new version contains. */
  async swapped(): Promise<void> {
    await this.#exclusive(async () => this.#afterSwitch());
  }

  async #afterSwitch(): Promise<void> {
    const index = this.#o.live.current();
    if (index === undefined) return;
    if (this.#next === index) this.#next = undefined;
    if (index.watermark > this.#prunedFor) {
      this.#prunedFor = index.watermark;
      await this.#o.wal.prune(index.watermark);
      this.#walGauges();
    }
    this.#o.metrics?.appliedId.set(index.appliedId);
    this.#publish(true);
  }

  /**
   * Takes consecutive messages of one partition: skips offsets the WAL already holds (a
   * redelivery after a crash between fsync and commit), stores the relevant ones batch by batch,
   * and applies each batch after its fsync.
   */
  async ingest(partition: number, messages: readonly RawMessage[]): Promise<IngestResult> {
    return this.#exclusive(async () => {
      const wal = this.#o.wal;
      let next = wal.positions().get(partition) ?? 0;
      let stored = 0;
      let applied = 0;
      let batch: WalRecord[] = [];
      let lastOffset = -1;
      const flush = async () => {
        const through = new Map([[partition, lastOffset + 1]]);
        if (batch.length === 0) {
          await wal.append([], through);
        } else {
          const t0 = performance.now();
          await wal.append(batch, through);
          this.#o.metrics?.fsyncSeconds.observe((performance.now() - t0) / 1000);
          this.#o.metrics?.batchSize.observe(batch.length);
          this.#walGauges();
          stored += batch.length;
          applied += this.#apply(batch.map((r) => r.message));
        }
        next = lastOffset + 1;
        batch = [];
      };
      const index = this.#o.live.current();
      if (index === undefined) throw new Error('isupdate.ingest before an index version is loaded');
      if (this.#next === index || index.watermark > this.#prunedFor) await this.#afterSwitch();
      for (const raw of messages) {
        if (raw.offset < next) {
          this.#o.metrics?.messages.inc({ result: 'duplicate' });
          continue;
        }
        lastOffset = raw.offset;
        const msg = parseMessage(raw.value);
        if (msg === undefined) {
          this.#o.metrics?.messages.inc({ result: 'malformed' });
          this.#o.logger.error(
            { partition, offset: raw.offset },
            'skipping a change message that does not parse',
          );
        } else if (msg.id <= index.watermark || !relevant(msg, index.column, index.columns)) {
          this.#o.metrics?.messages.inc({ result: 'skipped' });
        } else {
          batch.push({ partition, offset: raw.offset, message: msg });
          if (batch.length >= this.#o.batchSize) await flush();
        }
      }
      if (lastOffset >= next) await flush();
      this.#publish(false);
      return { nextOffset: next, stored, applied };
    });
  }

  /** Stops publishing; waits for the running step to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#publishTimer);
    await this.#exclusive(async () => undefined);
  }

  async #replayInto(index: ColumnIndex): Promise<number> {
    const out = await replayWal(this.#o.wal, index, (target, msg) => this.#applyOne(target, msg, 'replayed'));
    return out.read;
  }

  #apply(messages: readonly ChangeMessage[]): number {
    // Apply and switch are both synchronous, so read the serving index right here.
    const index = this.#o.live.current()!;
    const next = this.#next !== undefined && this.#next !== index ? this.#next : undefined;
    let taken = 0;
    for (const msg of messages) {
      if (this.#applyOne(index, msg, 'applied')) taken++;
      if (next !== undefined) this.#applyOne(next, msg, 'applied');
    }
    this.#o.metrics?.appliedId.set(index.appliedId);
    return taken;
  }

  #walGauges(): void {
    const st = this.#o.wal.stats();
    this.#o.metrics?.walBytes.set(st.bytes);
    this.#o.metrics?.walSegments.set(st.segments);
  }

  #applyOne(index: ColumnIndex, msg: ChangeMessage, label: 'applied' | 'replayed'): boolean {
    try {
      const took = index.apply(msg);
      this.#o.metrics?.messages.inc({ result: took ? label : 'ignored' });
      return took;
    } catch (err) {
      // A bug in apply must not stop the stream; the message stays in the WAL for a later replay.
      this.#o.metrics?.messages.inc({ result: 'failed' });
      this.#o.logger.error(
        { err, id: msg.id, entity: msg.entity, op: msg.op },
        'applying a change message failed',
      );
      return false;
    }
  }

  #publish(force: boolean): void {
    const cb = this.#o.onApplied;
    if (cb === undefined || this.#stopped) return;
    const interval = this.#o.publishIntervalMs ?? 1000;
    const now = Date.now();
    if (force || now - this.#lastPublish >= interval) {
      clearTimeout(this.#publishTimer);
      this.#publishTimer = undefined;
      this.#lastPublish = now;
      const index = this.#o.live.current();
      if (index !== undefined) cb(index.appliedId);
    } else if (this.#publishTimer === undefined) {
      // Make sure the last change of a burst is published too.
      this.#publishTimer = setTimeout(
        () => {
          this.#publishTimer = undefined;
          this.#publish(true);
        },
        interval - (now - this.#lastPublish),
      );
      this.#publishTimer.unref();
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** Parses a Kafka value into a ChangeMessage; undefined when it is not one. */
export function parseMessage(value: Buffer | null): ChangeMessage | undefined {
  if (value === null) return undefined;
  try {
    const v = JSON.parse(value.toString('utf8')) as Partial<ChangeMessage> & { data?: { id?: unknown } };
    if (
      typeof v.id === 'number' &&
      Number.isSafeInteger(v.id) &&
      v.id > 0 &&
      (v.entity === 'customer' || v.entity === 'offer' || v.entity === 'bidword') &&
      (v.op === 'upsert' || v.op === 'delete') &&
      typeof v.data === 'object' &&
      v.data !== null &&
      typeof v.data.id === 'string'
    ) {
      return v as ChangeMessage;
    }
  } catch {
    // fall through
  }
  return undefined;
}
