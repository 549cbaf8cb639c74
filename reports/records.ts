// Kafka records -> report rows. Each topic's records are validated against their schema in core/
// (the same TypeBox schemas the producers use), then flattened into the columns the database
// keeps: one page-view row per pv record (which carries the record's validated text: the store
// lets DuckDB unnest its ads into one impression row per shown ad, in C++, which is several times
// cheaper than building and appending 13 values per ad from JavaScript), one row per click
// decision, settlement and refund. Days and hours are computed here, once, in the report time zone.
// A record that does not parse is returned as 'bad' (counted and skipped by the caller: a poison
// record must not stop reporting).
//
// Concurrency: pure functions.
import { Ajv } from 'ajv';
import { ClickDecision, Refund, Settlement } from '../core/click-records.js';
import { PvRecord } from '../core/pv-record.js';
import { dayHourOf } from './time.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const validPv = ajv.compile<PvRecord>(PvRecord);
const validDecision = ajv.compile<ClickDecision>(ClickDecision);
const validSettlement = ajv.compile<Settlement>(Settlement);
const validRefund = ajv.compile<Refund>(Refund);

export type TopicKind = 'pv' | 'clicks' | 'settlement' | 'corrections' | 'changes';

export interface PageViewRow {
  pvId: string;
  timeMs: number;
  day: string;
  hour: number;
  query: string;
  region: string;
  ads: number;
  /**
   * The record's JSON text, validated against PvRecord and with one ad per position (the first
   * wins): the store unnests `ads` from it into ad_impressions (reports/store.ts).
   */
  body: string;
}

export interface DecisionRow {
  decisionId: string;
  clickId: string;
  pvId: string;
  position: number;
  timeMs: number;
  day: string;
  hour: number;
  customerId: string;
  offerId: string;
  bidwordId: string;
  reason: string;
  billable: boolean;
  priceMicros: number;
}

export interface SettlementRow {
  clickId: string;
  pvId: string;
  position: number;
  timeMs: number;
  day: string;
  hour: number;
  customerId: string;
  offerId: string;
  bidwordId: string;
  priceMicros: number;
}

export interface RefundRow {
  refundId: string;
  clickId: string;
  customerId: string;
  amountMicros: number;
  reason: string;
  createdAtMs: number;
}

/**
 * An ad lost to budget (PvRecord.lostToBudget): one that would have been shown at `position` of
 * the page view had its customer not been offline for its budget.
 */
export interface BudgetLossRow {
  pvId: string;
  position: number;
  timeMs: number;
  day: string;
  hour: number;
  customerId: string;
  offerId: string;
  bidwordId: string;
  query: string;
  region: string;
}

/** A customer's status as of a change message (for the time it spent offline for budget). */
export interface CustomerChangeRow {
  messageId: number;
  customerId: string;
  atMs: number;
  /** The entity's status, or `deleted`. */
  status: string;
  dailyBudgetMicros: number;
  /** Offline because billing found its budget spent (offlineReason `budget`). */
  forBudget: boolean;
}

/** Rows of one batch, per table, in record order. */
export interface Rows {
  pageViews: PageViewRow[];
  /** Lost ads of the batch's page views (stored only with a page view stored for the first time). */
  budgetLosses: BudgetLossRow[];
  decisions: DecisionRow[];
  settlements: SettlementRow[];
  refunds: RefundRow[];
  customerChanges: CustomerChangeRow[];
}

export function emptyRows(): Rows {
  return {
    pageViews: [],
    budgetLosses: [],
    decisions: [],
    settlements: [],
    refunds: [],
    customerChanges: [],
  };
}

export function rowCount(r: Rows): number {
  return (
    r.pageViews.length +
    r.budgetLosses.length +
    r.decisions.length +
    r.settlements.length +
    r.refunds.length +
    r.customerChanges.length
  );
}

const CUSTOMER_MARK = Buffer.from('"customer"');

/** Splits a click id `pvId:position` (the pv id itself has no colon: it is a UUID). */
export function splitClickId(clickId: string): { pvId: string; position: number } {
  const i = clickId.lastIndexOf(':');
  if (i < 0) return { pvId: clickId, position: 0 };
  const position = Number(clickId.slice(i + 1));
  return { pvId: clickId.slice(0, i), position: Number.isInteger(position) ? position : 0 };
}

/** Adds the rows of one record to `into`; returns false when the record does not parse. */
export function addRecord(kind: TopicKind, value: Buffer | null, timeZone: string, into: Rows): boolean {
  if (value === null) return false;
  // The changes topic is mostly offers and bidwords: only customer changes are parsed.
  if (kind === 'changes' && value.indexOf(CUSTOMER_MARK) < 0) return true;
  let v: unknown;
  let text: string;
  try {
    text = value.toString('utf8');
    v = JSON.parse(text);
  } catch {
    return false;
  }
  switch (kind) {
    case 'pv': {
      if (!validPv(v)) return false;
      const { day, hour } = dayHourOf(v.timeMs, timeZone);
      const query = v.query.normalized;
      const region = v.region ?? '';
      into.pageViews.push({
        pvId: v.pvId,
        timeMs: v.timeMs,
        day,
        hour,
        query,
        region,
        ads: v.ads.length,
        body: uniquePositions(v.ads) ? text : JSON.stringify({ ...v, ads: firstPerPosition(v.ads) }),
      });
      if (v.lostToBudget !== undefined)
        for (const l of firstPerPosition(v.lostToBudget))
          into.budgetLosses.push({
            pvId: v.pvId,
            position: l.position,
            timeMs: v.timeMs,
            day,
            hour,
            customerId: l.customerId,
            offerId: l.offerId,
            bidwordId: l.bidwordId,
            query,
            region,
          });
      return true;
    }
    case 'clicks': {
      if (!validDecision(v)) return false;
      const { day, hour } = dayHourOf(v.clickedAtMs, timeZone);
      into.decisions.push({
        decisionId: v.decisionId,
        clickId: v.clickId,
        pvId: v.pvId,
        position: v.position,
        timeMs: v.clickedAtMs,
        day,
        hour,
        customerId: v.customerId,
        offerId: v.offerId,
        bidwordId: v.bidwordId,
        reason: v.reason,
        billable: v.billable,
        priceMicros: v.priceMicros,
      });
      return true;
    }
    case 'settlement': {
      if (!validSettlement(v)) return false;
      const { day, hour } = dayHourOf(v.clickedAtMs, timeZone);
      into.settlements.push({
        clickId: v.clickId,
        ...splitClickId(v.clickId),
        timeMs: v.clickedAtMs,
        day,
        hour,
        customerId: v.customerId,
        offerId: v.offerId,
        bidwordId: v.bidwordId,
        priceMicros: v.priceMicros,
      });
      return true;
    }
    case 'changes':
      return addCustomerChange(v, into);
    case 'corrections': {
      if (!validRefund(v)) return false;
      into.refunds.push({
        refundId: v.refundId,
        clickId: v.clickId,
        customerId: v.customerId,
        amountMicros: v.amountMicros,
        reason: v.reason,
        createdAtMs: v.createdAtMs,
      });
      return true;
    }
  }
}

/** A customer upsert or delete from the changes topic (other entities are ignored, not bad). */
function addCustomerChange(v: unknown, into: Rows): boolean {
  const m = v as {
    entity?: unknown;
    op?: unknown;
    id?: unknown;
    acceptedAt?: unknown;
    data?: { id?: unknown; status?: unknown; dailyBudgetMicros?: unknown; offlineReason?: unknown };
  };
  if (m === null || typeof m !== 'object' || m.entity !== 'customer') return true;
  const atMs = typeof m.acceptedAt === 'string' ? Date.parse(m.acceptedAt) : Number.NaN;
  if (!Number.isSafeInteger(m.id) || typeof m.data?.id !== 'string' || Number.isNaN(atMs)) return false;
  const deleted = m.op === 'delete';
  if (!deleted && (typeof m.data.status !== 'string' || !Number.isSafeInteger(m.data.dailyBudgetMicros)))
    return false;
  into.customerChanges.push({
    messageId: m.id as number,
    customerId: m.data.id,
    atMs,
    status: deleted ? 'deleted' : (m.data.status as string),
    dailyBudgetMicros: deleted ? 0 : (m.data.dailyBudgetMicros as number),
    forBudget: !deleted && m.data.status === 'offline' && m.data.offlineReason === 'budget',
  });
  return true;
}

/** True when no two ads of a page view share a position (always, from a correct blender). */
function uniquePositions(ads: readonly { position: number }[]): boolean {
  for (let i = 1; i < ads.length; i++)
    for (let j = 0; j < i; j++) if (ads[i]!.position === ads[j]!.position) return false;
  return true;
}

/** The first ad of each position, in order. */
function firstPerPosition<T extends { position: number }>(ads: readonly T[]): T[] {
  const seen = new Set<number>();
  return ads.filter((a) => !seen.has(a.position) && seen.add(a.position) !== undefined);
}
