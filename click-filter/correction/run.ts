// One run of the hourly correction (`imatch correct-clicks --hour H`): re-read the hour's click
// decisions from the clicks topic (by timestamp, from every filter instance, with a few minutes
// of slack on both sides for producer clocks, keeping only decisions whose click time is inside
// the hour), apply the hindsight rules (hindsight.ts), and write the refunds to the corrections
// topic, acks=all, keyed by click id.
//
// Running it twice adds nothing: refund ids are deterministic, and before writing the run reads
// the corrections topic from the hour's start on and leaves out every refund id already there for
// this hour. Two runs racing for the same hour could both write an id; billing applies a refund
// id once, so the money is still right (the topic then holds the record twice).

import { Ajv } from 'ajv';
import type { Kafka } from 'kafkajs';
import { ClickDecision, Refund } from '../../core/click-records.js';
import { createProducer, ensureTopics } from '../../core/kafka.js';
import type { Logger } from '../../core/logger.js';
import { type HindsightResult, type HindsightSettings, hindsight } from './hindsight.js';
import type { Hour } from './hour.js';
import { readTopicRange } from './read-range.js';

const ajv = new Ajv({ strict: false });
const validDecision = ajv.compile(ClickDecision);
const validRefund = ajv.compile(Refund);

export interface CorrectionOptions {
  kafka: Kafka;
  clicksTopic: string;
  correctionsTopic: string;
  hour: Hour;
  settings: HindsightSettings;
  /** Producer clocks may be this far off (ms); default 5 minutes. */
  slackMs?: number;
  dryRun?: boolean;
  now: () => number;
  log: Logger;
}

export interface CorrectionResult extends Omit<HindsightResult, 'refunds'> {
  hour: string;
  recordsRead: number;
  unreadable: number;
  refunds: number;
  alreadyWritten: number;
  written: number;
  /** The refunds written (or, with dryRun, that would be). */
  newRefunds: Refund[];
}

export async function runCorrection(o: CorrectionOptions): Promise<CorrectionResult> {
  const slack = o.slackMs ?? 300_000;
  const log = o.log.child({ component: 'correction', hour: o.hour.label });
  await ensureTopics(o.kafka, [o.clicksTopic, o.correctionsTopic]);

  const decisions: ClickDecision[] = [];
  let unreadable = 0;
  const clicks = await readTopicRange(o.kafka, {
    topic: o.clicksTopic,
    fromMs: o.hour.startMs - slack,
    untilMs: o.hour.endMs + slack,
    log,
    onMessage: (m) => {
      try {
        const d = JSON.parse(m.value?.toString('utf8') ?? '') as unknown;
        if (!validDecision(d)) {
          unreadable++;
          return;
        }
        if (d.clickedAtMs >= o.hour.startMs && d.clickedAtMs < o.hour.endMs) decisions.push(d);
      } catch {
        unreadable++;
      }
    },
  });
  const result = hindsight(decisions, o.hour.label, o.settings, o.now());

  const existing = new Set<string>();
  await readTopicRange(o.kafka, {
    topic: o.correctionsTopic,
    fromMs: o.hour.startMs,
    log,
    onMessage: (m) => {
      try {
        const r = JSON.parse(m.value?.toString('utf8') ?? '') as unknown;
        if (validRefund(r) && r.hour === o.hour.label) existing.add(r.refundId);
      } catch {
        // not ours to judge here
      }
    },
  });
  const fresh = result.refunds.filter((r) => !existing.has(r.refundId));
  let written = 0;
  if (!o.dryRun && fresh.length > 0) {
    const producer = await createProducer(o.kafka, { log });
    try {
      for (let i = 0; i < fresh.length; i += 1000) {
        const slice = fresh.slice(i, i + 1000);
        await producer.send(
          o.correctionsTopic,
          slice.map((r) => ({ key: r.clickId, value: JSON.stringify(r), timestamp: String(r.createdAtMs) })),
        );
        written += slice.length;
      }
    } finally {
      await producer.disconnect();
    }
  }
  const out: CorrectionResult = {
    hour: o.hour.label,
    recordsRead: clicks.read,
    unreadable,
    decisions: result.decisions,
    billableDecisions: result.billableDecisions,
    charged: result.charged,
    byReason: result.byReason,
    refunds: result.refunds.length,
    alreadyWritten: result.refunds.length - fresh.length,
    written,
    newRefunds: fresh,
  };
  log.info({ ...out, newRefunds: undefined }, o.dryRun ? 'correction computed (dry run)' : 'correction done');
  return out;
}
