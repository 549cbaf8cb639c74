// The Kafka side of isupdate: one kafkajs consumer per searcher replica, in a consumer group of its
// own (`<clientId>.<topic>.searcher.col-<c>.<replica>`), reading EVERY partition of the changes topic and
// handing each partition's messages, in order, to IsUpdate.ingest (WAL append + fsync, then apply).
//
// Where reading starts: the WAL is the truth. Right after the consumer joins, every partition is
// sought to the WAL's position for it (the offset after the last message stored or deliberately
// skipped), or to the partition's earliest offset when the WAL has none (a new replica catches up
// from Kafka, skipping what its version already contains). kafkajs applies a seek before its next
// fetch and drops fetched data of a partition with a seek pending, so no message slips through
// from the group's committed offset. Committed offsets only ever move to offsets that are durable
// in the WAL (resolveOffset after ingest; kafkajs commits resolved offsets every commitIntervalMs
// and on disconnect); a redelivery below the WAL position is skipped by IsUpdate.
//
// Concurrency: kafkajs runs one fetch loop; partitions are handed over one at a time
// (partitionsConsumedConcurrently 1), so IsUpdate sees one partition's batch at a time, in order.
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../../core/logger.js';
import type { IsUpdate } from './isupdate.js';
import type { IsUpdateMetrics } from './metrics.js';

export interface ChangeConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  isupdate: IsUpdate;
  logger: Logger;
  metrics?: IsUpdateMetrics;
  /** Longest wait of one fetch when there is nothing new (ms); small keeps changes fresh. */
  maxWaitMs?: number;
  /** How often resolved offsets are committed (ms). */
  commitIntervalMs?: number;
  /** Messages handed to one ingest call at most (IsUpdate cuts them into WAL micro-batches). */
  sliceSize?: number;
  /** Called when kafkajs gives up on the consumer (a crash it does not restart by itself). */
  onFatal?: (error: Error) => void;
}

export class ChangeConsumer {
  #o: ChangeConsumerOptions;
  #consumer: Consumer | undefined;
  /** High watermark of each partition when consumption started: caught up once past all of them. */
  #startHigh = new Map<number, number>();
  #caughtUp = false;
  #crashed: Error | undefined;

  constructor(options: ChangeConsumerOptions) {
    this.#o = options;
  }

  /** True once every partition was consumed up to where it stood at start. */
  get caughtUp(): boolean {
    if (this.#caughtUp) return true;
    const pos = this.#o.isupdate.wal.positions();
    for (const [p, high] of this.#startHigh) if ((pos.get(p) ?? 0) < high) return false;
    this.#caughtUp = this.#consumer !== undefined;
    return this.#caughtUp;
  }

  /** The error that stopped the consumer for good, if any (kafkajs restarts it on most errors). */
  get crashed(): Error | undefined {
    return this.#crashed;
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId, logger } = this.#o;
    const admin = kafka.admin();
    let partitions: Array<{ partition: number; low: number; high: number }>;
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      partitions = offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    for (const p of partitions) this.#startHigh.set(p.partition, p.high);

    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.#o.maxWaitMs ?? 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 3000,
    });
    const sliceSize = this.#o.sliceSize ?? 1000;
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      logger.error({ err: error, restart }, 'change consumer crashed');
      if (!restart) {
        this.#crashed = error;
        this.#o.onFatal?.(error);
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await this.#run(consumer, sliceSize);
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    this.#seek(consumer, partitions);
    this.#consumer = consumer;
  }

  async #run(consumer: Consumer, sliceSize: number): Promise<void> {
    const { isupdate } = this.#o;
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: this.#o.commitIntervalMs ?? 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({
        batch,
        resolveOffset,
        heartbeat,
        isRunning,
        isStale,
        commitOffsetsIfNecessary,
      }) => {
        const partition = batch.partition;
        const all = batch.messages;
        for (let i = 0; i < all.length; i += sliceSize) {
          if (!isRunning() || isStale()) break;
          const slice = all
            .slice(i, i + sliceSize)
            .map((m) => ({ offset: Number(m.offset), value: m.value }));
          const out = await isupdate.ingest(partition, slice);
          // Everything before nextOffset is durable in the WAL or needs no storing.
          if (out.nextOffset > 0) resolveOffset(String(out.nextOffset - 1));
          this.#o.metrics?.lag.set(
            { partition: String(partition) },
            Math.max(0, Number(batch.highWatermark) - out.nextOffset),
          );
          await heartbeat();
        }
        await commitOffsetsIfNecessary();
      },
    });
  }

  #seek(consumer: Consumer, partitions: Array<{ partition: number; low: number; high: number }>): void {
    const { topic, groupId, isupdate, logger } = this.#o;
    // Start each partition at the WAL's position (see the module comment).
    const positions = isupdate.wal.positions();
    for (const p of partitions) {
      const at = positions.get(p.partition) ?? p.low;
      consumer.seek({ topic, partition: p.partition, offset: String(Math.max(at, p.low)) });
      if (positions.get(p.partition) !== undefined && positions.get(p.partition)! < p.low) {
        logger.error(
          { partition: p.partition, walPosition: positions.get(p.partition), earliest: p.low },
          "Kafka no longer holds messages after this replica's WAL position (retention); the index may miss changes until the next full version",
        );
      }
    }
    logger.info(
      {
        topic,
        groupId,
        start: Object.fromEntries(partitions.map((p) => [p.partition, positions.get(p.partition) ?? p.low])),
        high: Object.fromEntries(this.#startHigh),
      },
      'consuming change messages',
    );
  }

  /** Stops fetching, waits for the batch in hand, commits what is resolved, leaves the group. */
  async stop(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    await c?.disconnect();
  }
}
