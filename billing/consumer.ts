// Kafka -> ledger. One consumer group reads the settlement, corrections and changes topics; each
// slice of one partition becomes ONE ledger transaction together with the partition's next
// offset, then the transaction is flushed to disk, then (back in core/kafka.ts) the offset is
// committed to Kafka. A crash anywhere in between is harmless: records redelivered after it are
// at or below the position stored in the ledger and are skipped, and charges and refunds are
// idempotent by click id and refund id on top of that.
//
// A record that does not parse is counted, logged and skipped (a poison record must not stop
// billing); its offset still advances.
//
// Concurrency: kafkajs hands over one partition's slice at a time (partitionsConsumedConcurrently
// 1), so ledger transactions never interleave.
import { Ajv } from 'ajv';
import { Refund, Settlement } from '../core/click-records.js';
import { type ConsumedMessage, type ImatchConsumer, type Kafka, startConsumer } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { customerEventOf } from './customers.js';
import type { BatchResult, Ledger, LedgerEvent } from './ledger.js';
import type { BillingMetrics } from './metrics.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const validSettlement = ajv.compile(Settlement);
const validRefund = ajv.compile(Refund);

export interface LedgerConsumerOptions {
  kafka: Kafka;
  ledger: Ledger;
  groupId: string;
  topics: { settlement: string; corrections: string; changes: string };
  maxBatch: number;
  log: Logger;
  metrics: BillingMetrics;
  /** Called after each committed and flushed batch. */
  onApplied: (result: BatchResult) => void;
}

export function parseRecord(
  m: ConsumedMessage,
  topics: LedgerConsumerOptions['topics'],
): LedgerEvent | undefined | 'bad' {
  if (m.value === null) return 'bad';
  try {
    if (m.topic === topics.changes) return customerEventOf(m.value);
    const v = JSON.parse(m.value.toString('utf8')) as unknown;
    if (m.topic === topics.settlement) return validSettlement(v) ? { kind: 'settlement', value: v } : 'bad';
    if (m.topic === topics.corrections) return validRefund(v) ? { kind: 'refund', value: v } : 'bad';
  } catch {
    return 'bad';
  }
  return undefined;
}

export async function startLedgerConsumer(o: LedgerConsumerOptions): Promise<ImatchConsumer> {
  const log = o.log.child({ component: 'ledger-consumer' });
  return startConsumer(o.kafka, {
    groupId: o.groupId,
    topics: [o.topics.settlement, o.topics.corrections, o.topics.changes],
    fromBeginning: true,
    maxBatchSize: o.maxBatch,
    log,
    eachBatch: async (messages) => {
      const first = messages[0];
      if (first === undefined) return;
      const events: { event: LedgerEvent; topic: string; partition: number; offset: string }[] = [];
      let ignored = 0;
      for (const m of messages) {
        const e = parseRecord(m, o.topics);
        if (e === 'bad') {
          o.metrics.records.inc({ topic: m.topic, result: 'bad' });
          log.error(
            {
              topic: m.topic,
              partition: m.partition,
              offset: m.offset,
              value: m.value?.toString('utf8').slice(0, 500),
            },
            'unreadable record skipped',
          );
        } else if (e === undefined) ignored++;
        else events.push({ event: e, topic: m.topic, partition: m.partition, offset: m.offset });
      }
      const last = messages[messages.length - 1]!;
      const result = o.ledger.applyBatch(events, [
        { topic: first.topic, partition: first.partition, nextOffset: (BigInt(last.offset) + 1n).toString() },
      ]);
      await o.ledger.flushed();
      o.metrics.batches.inc();
      const t = first.topic;
      if (ignored) o.metrics.records.inc({ topic: t, result: 'ignored' }, ignored);
      if (result.charged) o.metrics.records.inc({ topic: t, result: 'charged' }, result.charged);
      if (result.duplicateSettlements)
        o.metrics.records.inc({ topic: t, result: 'duplicate' }, result.duplicateSettlements);
      if (result.skipped) o.metrics.records.inc({ topic: t, result: 'skipped' }, result.skipped);
      if (result.customersUpdated)
        o.metrics.records.inc({ topic: t, result: 'customer' }, result.customersUpdated);
      for (const [effect, n] of Object.entries(result.refunds))
        if (n > 0) o.metrics.refunds.inc({ effect }, n);
      if (result.charged || result.refundedMicros || result.duplicateSettlements)
        log.debug(
          {
            topic: t,
            partition: first.partition,
            charged: result.charged,
            chargedMicros: result.chargedMicros,
            refundedMicros: result.refundedMicros,
          },
          'batch applied',
        );
      o.onApplied(result);
    },
  });
}
