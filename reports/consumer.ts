// Kafka -> the reports database. One consumer group (named after the database's id, so a new,
// empty database reads every topic from the start) reads pv, clicks, settlement, corrections and
// changes (customer upserts only).
// Each slice of one partition becomes ONE database transaction with the partition's next offset
// (store.ts); only then is the offset committed to Kafka (for operators' lag tools: the database's
// own positions are the truth).
//
// Resuming: when the group assigns partitions, the consumer seeks each one to the position stored
// in the database, so after a crash it neither skips nor repeats; records below the stored
// position that still arrive (a fetch in flight before the seek, a rebalance) are dropped before
// the transaction. Restarting or replaying therefore changes no number.
//
// Concurrency: kafkajs hands over one partition's batch at a time (partitionsConsumedConcurrently
// 1); writes are serialized in the store anyway.
import type { Consumer } from 'kafkajs';
import { type Kafka, toKafkaError } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import type { ReportsMetrics } from './metrics.js';
import { addRecord, emptyRows, type TopicKind } from './records.js';
import type { ReportStore } from './store.js';

export interface ReportTopics {
  pv: string;
  clicks: string;
  settlement: string;
  corrections: string;
  /** Customer upserts only (status over time, for the time offline for budget). */
  changes: string;
}

export interface ReportsConsumerOptions {
  kafka: Kafka;
  store: ReportStore;
  groupId: string;
  topics: ReportTopics;
  timeZone: string;
  maxBatch: number;
  log: Logger;
  metrics: ReportsMetrics;
  /** Called after each committed batch with the topic and the records stored. */
  onApplied?: (topic: string, stored: number) => void;
}

export interface ReportsConsumer {
  readonly consumer: Consumer;
  disconnect(): Promise<void>;
}

export async function startReportsConsumer(o: ReportsConsumerOptions): Promise<ReportsConsumer> {
  const log = o.log.child({ component: 'reports-consumer' });
  const kindOf = new Map<string, TopicKind>([
    [o.topics.pv, 'pv'],
    [o.topics.clicks, 'clicks'],
    [o.topics.settlement, 'settlement'],
    [o.topics.corrections, 'corrections'],
    [o.topics.changes, 'changes'],
  ]);
  const consumer = o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    // A fetch returns when 256 KB are ready or after 250 ms: at 1,000 queries/s that is a few
    // transactions a second instead of one per record or two (each commit writes the log), and
    // the dashboard stays well inside a second behind.
    minBytes: 256 * 1024,
    maxWaitTimeInMs: 250,
    // Large fetches make large transactions when behind (catching up, a burst): ingest costs
    // about half as much per record at 20,000 records per transaction as at 1,000 (kafkajs's
    // default 1 MB per partition is about 1,100 page views). BENCHMARKS.md, reports ingest.
    maxBytesPerPartition: 32 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = e.payload.memberAssignment as Record<string, number[]>;
    for (const [topic, partitions] of Object.entries(assigned))
      for (const partition of partitions) {
        const next = o.store.nextOffset(topic, partition);
        if (next !== undefined) consumer.seek({ topic, partition, offset: next.toString() });
      }
    log.info({ assigned }, 'partitions assigned; resuming from the stored positions');
  });
  let connected = false;
  try {
    await consumer.connect();
    connected = true;
    await consumer.subscribe({ topics: [...kindOf.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({
        batch,
        resolveOffset,
        heartbeat,
        commitOffsetsIfNecessary,
        isRunning,
        isStale,
      }) => {
        const { topic, partition } = batch;
        const kind = kindOf.get(topic);
        if (kind === undefined) return;
        for (let i = 0; i < batch.messages.length; i += o.maxBatch) {
          if (!isRunning() || isStale()) return;
          const slice = batch.messages.slice(i, i + o.maxBatch);
          const last = slice.at(-1)!;
          const stored = o.store.nextOffset(topic, partition);
          const rows = emptyRows();
          let bad = 0;
          let skipped = 0;
          for (const m of slice) {
            if (stored !== undefined && BigInt(m.offset) < stored) {
              skipped++;
              continue;
            }
            if (!addRecord(kind, m.value, o.timeZone, rows)) {
              bad++;
              log.error(
                { topic, partition, offset: m.offset, value: m.value?.toString('utf8').slice(0, 300) },
                'unreadable record skipped',
              );
            }
          }
          const next = (BigInt(last.offset) + 1n).toString();
          if (skipped < slice.length) {
            const end = o.metrics.batchSeconds.startTimer();
            await o.store.applyBatch(rows, { topic, partition, nextOffset: next });
            end();
            o.metrics.batches.inc({ topic: kind });
          }
          const stored_ = slice.length - skipped - bad;
          if (stored_ > 0) o.metrics.records.inc({ topic: kind, result: 'stored' }, stored_);
          if (skipped > 0) o.metrics.records.inc({ topic: kind, result: 'skipped' }, skipped);
          if (bad > 0) o.metrics.records.inc({ topic: kind, result: 'bad' }, bad);
          resolveOffset(last.offset);
          await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
          await heartbeat();
          o.onApplied?.(topic, stored_);
        }
      },
    });
  } catch (err) {
    if (connected) await consumer.disconnect().catch(() => undefined);
    throw toKafkaError(err, `Cannot start consumer group ${o.groupId}`);
  }
  let open = true;
  return {
    consumer,
    disconnect: async () => {
      if (!open) return;
      open = false;
      await consumer.disconnect();
    },
  };
}
