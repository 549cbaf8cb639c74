// Reads one topic between two points in time and stops: the start offset of each partition comes
// from the broker's time index (kafkajs admin fetchTopicOffsetsByTimestamp), the end is the first
// record stamped at or after `untilMs`, or the partition's end as it was when the read began
// (records written after that are not waited for). Used by the hourly correction to re-read the
// clicks of one hour and the refunds already written for it.
//
// kafkajs has no manual partition assignment, so the read uses a throwaway consumer group (unique
// name, nothing committed, deleted afterwards) and seeks every partition to its start offset.
//
// Concurrency: one kafkajs consumer; onMessage runs in partition order, one batch at a time.
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { ImatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

export interface ReadRangeOptions {
  topic: string;
  /** First record time to read (ms). */
  fromMs: number;
  /** Stop a partition at its first record stamped at or after this (ms); undefined: read to its end. */
  untilMs?: number | undefined;
  /** Give up after this long (ms); default 120,000. */
  timeoutMs?: number;
  log: Logger;
  onMessage: (m: KafkaMessage, partition: number) => void;
}

export async function readTopicRange(
  kafka: Kafka,
  o: ReadRangeOptions,
): Promise<{ read: number; partitions: number }> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `imatch-read-range-${randomBytes(6).toString('hex')}`;
  try {
    const [starts, ends] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(o.topic, o.fromMs),
      admin.fetchTopicOffsets(o.topic),
    ]);
    const work = new Map<number, { start: bigint; end: bigint }>();
    for (const e of ends) {
      const end = BigInt(e.high);
      const s = starts.find((x) => x.partition === e.partition)?.offset;
      const start = s === undefined || s === '-1' ? end : BigInt(s);
      if (start < end) work.set(e.partition, { start, end });
    }
    o.log.debug(
      {
        topic: o.topic,
        partitions: [...work.entries()].map(([p, w]) => ({ p, from: `${w.start}`, to: `${w.end}` })),
      },
      'reading range',
    );
    if (work.size === 0) return { read: 0, partitions: ends.length };

    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 3_000,
      allowAutoTopicCreation: false,
    });
    let read = 0;
    let finish: () => void = () => {};
    let fail: (err: unknown) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const open = new Set(work.keys());
    const close = (p: number) => {
      if (open.delete(p) && open.size === 0) finish();
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: false });
      consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const w = work.get(batch.partition);
          if (w === undefined || !open.has(batch.partition)) return;
          for (const m of batch.messages) {
            const off = BigInt(m.offset);
            if (off < w.start) continue;
            if (off >= w.end || (o.untilMs !== undefined && Number(m.timestamp) >= o.untilMs)) {
              close(batch.partition);
              return;
            }
            read++;
            o.onMessage(m, batch.partition);
            if (off + 1n >= w.end) {
              close(batch.partition);
              return;
            }
          }
        },
      });
      for (const [partition, w] of work)
        consumer.seek({ topic: o.topic, partition, offset: w.start.toString() });
      const timeoutMs = o.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        finished,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ImatchError(
                  'IM_ERR_KAFKA_UNAVAILABLE',
                  `reading ${o.topic} did not finish within ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } finally {
      await consumer.disconnect().catch(() => {});
    }
    return { read, partitions: ends.length };
  } finally {
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}
