// Record builders for the reports unit tests (pv records, click decisions, settlements, refunds as
// the producers write them), and a small day of traffic loaded into a store. Pure test support:
// no server, no network.
import { addRecord, emptyRows, type Rows, type TopicKind } from './records.js';
import type { ReportStore } from './store.js';

export const TZ = 'UTC';
/** Topic names for snapshots in unit tests (no Kafka: the names only label the lag rows). */
export const TOPICS = {
  pv: 'pv',
  clicks: 'clicks',
  settlement: 'settlement',
  corrections: 'corrections',
  changes: 'changes',
};
export const T0 = Date.parse('2026-11-20T10:15:00Z');

export function pv(
  pvId: string,
  timeMs: number,
  ads: { customerId: string; priceMicros: number; keyword?: string }[],
  q = 'red shoes',
  lost: { customerId: string; position: number }[] = [],
) {
  const record = {
    v: 1,
    pvId,
    timeMs,
    time: new Date(timeMs).toISOString(),
    query: { raw: q, normalized: q, rewritten: q, synonyms: [], stopwords: [] },
    n: 5,
    region: 'DE',
    user: { clientDigest: '0000000000000000' },
    coverage: { columns: 2, answered: 2 },
    degraded: false,
    pricing: { reserveMicros: 10_000, stepMicros: 10_000 },
    ads: ads.map((a, i) => ({
      position: i + 1,
      offerId: `o-${a.customerId}`,
      customerId: a.customerId,
      bidwordId: `b-${a.customerId}`,
      keyword: a.keyword ?? q,
      matchType: 'exact',
      bidMicros: 1_000_000,
      qualityBp: 5000,
      score: 1,
      priceMicros: a.priceMicros,
    })),
    tookMs: 1,
  };
  if (lost.length === 0) return record;
  const lostToBudget = lost.map((l) => ({
    position: l.position,
    offerId: `o-${l.customerId}`,
    customerId: l.customerId,
    bidwordId: `b-${l.customerId}`,
  }));
  // PvRecord's field order: lostToBudget after ads.
  const { tookMs, ...rest } = record;
  return { ...rest, lostToBudget, tookMs };
}

export function decision(
  clickId: string,
  customerId: string,
  reason: string,
  priceMicros: number,
  seq: number,
  clickedAtMs = T0 + 5_000,
) {
  const [pvId, position] = clickId.split(':') as [string, string];
  return {
    v: 1,
    clickId,
    decisionId: `cf-1:${seq}`,
    instance: 'cf-1',
    billable: reason === 'ok',
    reason,
    pvId,
    position: Number(position),
    offerId: `o-${customerId}`,
    customerId,
    bidwordId: `b-${customerId}`,
    priceMicros,
    bidMicros: 1_000_000,
    issuedAtMs: clickedAtMs - 5_000,
    clickedAtMs,
    ip: '192.0.2.1',
    uaDigest: '0123456789abcdef',
    userKey: 'u1',
    kid: 1,
  };
}

export function settlement(
  clickId: string,
  customerId: string,
  priceMicros: number,
  clickedAtMs = T0 + 5_000,
) {
  return {
    v: 1,
    clickId,
    customerId,
    offerId: `o-${customerId}`,
    bidwordId: `b-${customerId}`,
    priceMicros,
    clickedAtMs,
    instance: 'cf-1',
  };
}

export function refund(
  refundId: string,
  clickId: string,
  customerId: string,
  amountMicros: number,
  reason = 'burst-ip',
) {
  return {
    v: 1,
    refundId,
    clickId,
    customerId,
    amountMicros,
    reason,
    hour: '2026-11-20T10',
    createdAtMs: T0 + 3_600_000,
  };
}

export function rowsOf(kind: TopicKind, records: unknown[]): Rows {
  const rows = emptyRows();
  for (const r of records)
    if (!addRecord(kind, Buffer.from(JSON.stringify(r)), TZ, rows))
      throw new Error(`not a ${kind} record: ${JSON.stringify(r)}`);
  return rows;
}

/** Two page views, five decisions, three settlements and five refunds of customers c1 and c2 on 2026-11-20. */
export async function loadDay(store: ReportStore): Promise<void> {
  await store.applyBatch(
    rowsOf('pv', [
      pv('p1', T0, [
        { customerId: 'c1', priceMicros: 500_000 },
        { customerId: 'c2', priceMicros: 200_000 },
      ]),
      pv('p2', T0 + 1000, [{ customerId: 'c1', priceMicros: 400_000 }], 'blue shoes'),
      pv('p1', T0, [
        { customerId: 'c1', priceMicros: 500_000 },
        { customerId: 'c2', priceMicros: 200_000 },
      ]),
    ]),
    { topic: 'pv', partition: 0, nextOffset: '3' },
  );
  await store.applyBatch(
    rowsOf('clicks', [
      decision('p1:1', 'c1', 'ok', 500_000, 1),
      decision('p1:1', 'c1', 'duplicate', 500_000, 2),
      decision('p1:2', 'c2', 'bot', 200_000, 3),
      decision('p2:1', 'c1', 'ok', 400_000, 4),
      decision('p2:1', 'c1', 'ok', 400_000, 4), // a producer retry: same decision id
    ]),
    { topic: 'clicks', partition: 0, nextOffset: '5' },
  );
  await store.applyBatch(
    rowsOf('settlement', [
      settlement('p1:1', 'c1', 500_000),
      settlement('p2:1', 'c1', 400_000),
      settlement('p1:1', 'c1', 999_999), // a second settlement of the same click: the first wins
    ]),
    { topic: 'settlement', partition: 0, nextOffset: '3' },
  );
  await store.applyBatch(
    rowsOf('corrections', [
      refund('rf:p2:1', 'p2:1', 'c1', 300_000),
      refund('rf:p2:1', 'p2:1', 'c1', 300_000), // the same refund id again
      refund('x:p2:1', 'p2:1', 'c1', 300_000), // capped at what is left of the click: 100,000
      refund('dup:p1:1:cf-2:9', 'p1:1', 'c1', 500_000, 'duplicate'), // moves no money
      refund('rf:p1:1', 'p1:1', 'c2', 500_000), // another customer's click: moves no money
    ]),
    { topic: 'corrections', partition: 0, nextOffset: '5' },
  );
}

/** A customer upsert as dispatch writes it to the changes topic. */
export function customerChange(
  id: number,
  customerId: string,
  status: string,
  dailyBudgetMicros: number,
  atMs: number,
  offlineReason?: 'budget',
) {
  return {
    entity: 'customer',
    op: 'upsert',
    data: {
      id: customerId,
      name: `Customer ${customerId}`,
      status,
      dailyBudgetMicros,
      ...(offlineReason === undefined ? {} : { offlineReason }),
    },
    id,
    acceptedAt: new Date(atMs).toISOString(),
  };
}
