// Kafka -> the trainer. One consumer group (named after the state's id, so a new state reads both
// topics from the start) reads the pv and clicks topics. Every record is applied to the trainer
// together with its partition's next offset (trainer.ts positions), synchronously, so a checkpoint
// taken between two batches is a consistent state to resume from. On assignment the consumer seeks
// each partition to the position in the state; records below it that still arrive are dropped.
// Offsets are also committed to Kafka, for operators' lag tools only: the state's positions are the
// truth (the same design as reports/consumer.ts).
//
// Event time (the attribution window's clock) is a watermark: the oldest last-seen record time of
// the partitions still behind their end, so a topic read faster than the other (a replay after a
// restart) cannot age impressions into negatives before their clicks are read. When every
// partition is read to its end the watermark is at least now - idleLagMs, so impressions become
// negatives even when traffic stops. Right after partitions are assigned, the watermark holds until
// the end offsets of every assigned partition are known (a partition not read yet is behind, one
// whose position is already at its end is not), so a replay never ages impressions past clicks it
// has not read yet.
//
// Concurrency: kafkajs hands over one partition's batch at a time (partitionsConsumedConcurrently 1).
import { Ajv } from 'ajv';
import type { Admin, Consumer } from 'kafkajs';
import { ClickDecision } from '../core/click-records.js';
import { type Kafka, toKafkaError } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { PvRecord } from '../core/pv-record.js';
import type { LearnerMetrics } from './metrics.js';
import type { Trainer } from './trainer.js';

const ajv = new Ajv({ strict: false });
const validPv = ajv.compile<PvRecord>(PvRecord);
const validClick = ajv.compile<ClickDecision>(ClickDecision);

export interface LearnerConsumerOptions {
  kafka: Kafka;
  trainer: () => Trainer;
  groupId: string;
  topicPv: string;
  topicClicks: string;
  idleLagMs: number;
  log: Logger;
  metrics: LearnerMetrics;
  now?: () => number;
}

interface PartitionClock {
  /** Event time of the last record read. */
  lastMs: number;
  /** Whether the last batch ended at the partition's high watermark. */
  atEnd: boolean;
}

export class LearnerConsumer {
  private consumer: Consumer | undefined;
  private readonly clocks = new Map<string, PartitionClock>();
  private maxSeenMs = 0;
  /** False from an assignment until its partitions' end offsets are known: the watermark holds. */
  private clocksKnown = false;
  private timer: NodeJS.Timeout | undefined;
  private admin: Admin | undefined;
  private readonly now: () => number;

  private constructor(private readonly o: LearnerConsumerOptions) {
    this.now = o.now ?? Date.now;
  }

  static async start(o: LearnerConsumerOptions): Promise<LearnerConsumer> {
    const c = new LearnerConsumer(o);
    await c.run();
    return c;
  }

  /** The event time the trainer may advance to now (0: hold). */
  watermark(): number {
    if (!this.clocksKnown) return 0;
    let behind = Number.POSITIVE_INFINITY;
    for (const c of this.clocks.values()) if (!c.atEnd) behind = Math.min(behind, c.lastMs);
    if (behind === Number.POSITIVE_INFINITY) return Math.max(this.maxSeenMs, this.now() - this.o.idleLagMs);
    return Math.min(behind, this.maxSeenMs);
  }

  private async run(): Promise<void> {
    const { o } = this;
    const log = o.log.child({ component: 'learner-consumer' });
    const kinds = new Map([
      [o.topicPv, 'pv'],
      [o.topicClicks, 'clicks'],
    ] as const);
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    const admin = o.kafka.admin();
    this.admin = admin;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = e.payload.memberAssignment as Record<string, number[]>;
      this.clocksKnown = false;
      for (const [topic, partitions] of Object.entries(assigned))
        for (const partition of partitions) {
          const next = o.trainer().nextOffset(topic, partition);
          if (next !== undefined) consumer.seek({ topic, partition, offset: next.toString() });
        }
      log.info({ assigned }, 'partitions assigned; resuming from the positions in the state');
      this.learnEnds(admin, assigned).catch((err) => {
        log.warn({ err }, 'cannot read the end offsets; event time moves with the records only');
        this.clocks.clear();
        this.clocksKnown = true;
      });
    });
    let connected = false;
    try {
      await admin.connect();
      await consumer.connect();
      connected = true;
      await consumer.subscribe({ topics: [o.topicPv, o.topicClicks], fromBeginning: true });
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
          const kind = kinds.get(topic);
          if (kind === undefined || !isRunning() || isStale()) return;
          const trainer = o.trainer();
          const stored = trainer.nextOffset(topic, partition);
          const key = `${topic}:${partition}`;
          const clock = this.clocks.get(key) ?? { lastMs: 0, atEnd: false };
          this.clocks.set(key, clock);
          let applied = 0;
          let skipped = 0;
          let bad = 0;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (stored !== undefined && offset < stored) {
              skipped++;
              continue;
            }
            const at = this.apply(kind, m.value, trainer);
            if (at === undefined) {
              bad++;
              trainer.counts.unreadable++;
              log.error(
                { topic, partition, offset: m.offset, value: m.value?.toString('utf8').slice(0, 300) },
                'unreadable record skipped',
              );
            } else {
              applied++;
              if (at > clock.lastMs) clock.lastMs = at;
              if (at > this.maxSeenMs) this.maxSeenMs = at;
            }
            trainer.setNextOffset(topic, partition, offset + 1n);
          }
          const last = batch.messages.at(-1);
          if (last !== undefined) {
            clock.atEnd = BigInt(last.offset) + 1n >= BigInt(batch.highWatermark);
            trainer.advance(this.watermark());
          }
          if (applied > 0) o.metrics.records.inc({ topic: kind, result: 'applied' }, applied);
          if (skipped > 0) o.metrics.records.inc({ topic: kind, result: 'skipped' }, skipped);
          if (bad > 0) o.metrics.records.inc({ topic: kind, result: 'bad' }, bad);
          if (last !== undefined) {
            resolveOffset(last.offset);
            const next = (BigInt(last.offset) + 1n).toString();
            await commitOffsetsIfNecessary({
              topics: [{ topic, partitions: [{ partition, offset: next }] }],
            });
          }
          await heartbeat();
        },
      });
    } catch (err) {
      if (connected) await consumer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      throw toKafkaError(err, `Cannot start consumer group ${o.groupId}`);
    }
    this.consumer = consumer;
    // Event time also moves without new records (idle topics), once per 500 ms.
    this.timer = setInterval(() => o.trainer().advance(this.watermark()), 500);
    this.timer.unref();
  }

  /** Every assigned partition: behind (not read to its end yet) or at its end. */
  private async learnEnds(admin: Admin, assigned: Record<string, number[]>): Promise<void> {
    const trainer = this.o.trainer();
    this.clocks.clear();
    for (const [topic, partitions] of Object.entries(assigned)) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const partition of partitions) {
        const end = ends.find((x) => x.partition === partition);
        const next = trainer.nextOffset(topic, partition) ?? BigInt(end?.low ?? '0');
        const atEnd = end === undefined || next >= BigInt(end.high);
        this.clocks.set(`${topic}:${partition}`, { lastMs: 0, atEnd });
      }
    }
    this.clocksKnown = true;
  }

  /** Applies one record; returns its event time, or undefined when it is unreadable. */
  private apply(kind: 'pv' | 'clicks', value: Buffer | null, trainer: Trainer): number | undefined {
    if (value === null) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(value.toString('utf8'));
    } catch {
      return undefined;
    }
    if (kind === 'pv') {
      if (!validPv(doc)) return undefined;
      trainer.pageView(doc);
      return doc.timeMs;
    }
    if (!validClick(doc)) return undefined;
    trainer.click(doc);
    return doc.clickedAtMs;
  }

  /** Stops fetching (the batch in flight finishes), leaves the group, disconnects. */
  async disconnect(): Promise<void> {
    clearInterval(this.timer);
    const c = this.consumer;
    this.consumer = undefined;
    await c?.disconnect();
    await this.admin?.disconnect().catch(() => undefined);
  }
}
