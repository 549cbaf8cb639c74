// The live dashboard's data: one snapshot per tick, computed from the raw tables (today is always
// within the retention) and from the topics' end offsets. A snapshot holds per-second series for
// the last two minutes (queries, impressions, valid and invalid clicks), spend per minute for the
// last 30 minutes, current rates, CTR, top-N keywords and advertisers for the last 5 minutes and
// for today, and how far behind each topic the database is (records, and seconds since the newest
// event stored).
//
// Today's figures (totals and top-N for the day) scan every raw row of the day: about 600 ms at
// 10M impressions (BENCHMARKS.md), against a few ms for the recent windows, which DuckDB narrows to
// the newest row groups. With a TodayCache, today's part is recomputed only when it is older than
// `minIntervalMs` and than `costFactor` times what it took last time (so it never holds more than
// about 1/costFactor of the time), or when the day changed; the rest is computed on every snapshot,
// and `todayAsOfMs` says when today's part was computed.
//
// Concurrency: `snapshot()` runs its queries in parallel on reader connections; the caller (the
// SSE hub in routes/dashboard.ts) runs one snapshot at a time.
import type { Admin } from 'kafkajs';
import type { ReportTopics } from './consumer.js';
import { REJECT_REASONS } from './queries.js';
import type { ReportStore, Row } from './store.js';
import { dayOf } from './time.js';

export const SERIES_SECONDS = 120;
export const SPEND_MINUTES = 30;
const FIVE_MINUTES_MS = 5 * 60_000;

export interface TopicLag {
  topic: string;
  kind: string;
  /** Records between the stored positions and the end of the topic (null when unknown). */
  records: number | null;
  /** Seconds since the newest event time stored from this topic (null when none). */
  eventAgeSeconds: number | null;
}

export interface TodayTotals {
  queries: number;
  impressions: number;
  clicks: number;
  invalidClicks: number;
  costMicros: number;
  ctr: number;
}

interface TodayPart {
  day: string;
  totals: TodayTotals;
  topKeywords: TopRow[];
  topAdvertisers: TopRow[];
}

/** Today's part of the last snapshot and when and how fast it was computed (see the top). */
export class TodayCache {
  part: TodayPart | undefined;
  atMs = 0;
  tookMs = 0;

  constructor(
    readonly minIntervalMs = 0,
    readonly costFactor = 4,
  ) {}

  fresh(day: string, nowMs: number): boolean {
    return (
      this.part !== undefined &&
      this.part.day === day &&
      nowMs - this.atMs < Math.max(this.minIntervalMs, this.costFactor * this.tookMs)
    );
  }
}

export interface TopRow {
  key: string;
  impressions: number;
  clicks: number;
  costMicros: number;
}

export interface LiveSnapshot {
  nowMs: number;
  day: string;
  timeZone: string;
  /** Seconds (epoch) of the series points, oldest first; the last is the current, partial second. */
  seconds: number[];
  queries: number[];
  impressions: number[];
  validClicks: number[];
  invalidClicks: number[];
  /** Per second, averaged over the last 5 complete seconds. */
  rates: { queries: number; impressions: number; validClicks: number; invalidClicks: number };
  invalidByReasonLast5m: Record<string, number>;
  /** Minute starts (epoch seconds) and what was charged in each (micros, before refunds). */
  minutes: number[];
  chargedMicrosPerMinute: number[];
  today: TodayTotals;
  /** When today's totals and top-N lists were computed (see TodayCache). */
  todayAsOfMs: number;
  last5m: { queries: number; impressions: number; clicks: number; ctr: number };
  topKeywords: { last5m: TopRow[]; today: TopRow[] };
  topAdvertisers: { last5m: TopRow[]; today: TopRow[] };
  lag: TopicLag[];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : v == null ? 0 : Number(v));

function perSecond(rows: Row[], seconds: number[], col = 'n'): number[] {
  const by = new Map(rows.map((r) => [num(r.s), num(r[col])]));
  return seconds.map((s) => by.get(s) ?? 0);
}

function top(rows: Row[]): TopRow[] {
  return rows.map((r) => ({
    key: String(r.k),
    impressions: num(r.impressions),
    clicks: num(r.clicks),
    costMicros: num(r.cost),
  }));
}

export interface LiveOptions {
  store: ReportStore;
  timeZone: string;
  topics: ReportTopics;
  topN: number;
  /** Kafka admin for the topics' end offsets (optional: lag in records is then null). */
  admin?: Admin;
  now?: () => number;
  /** Keeps today's part between snapshots; without it every snapshot computes it. */
  todayCache?: TodayCache | undefined;
}

/** End offsets of a topic summed over partitions, minus the stored positions. */
async function recordsBehind(o: LiveOptions, topic: string): Promise<number | null> {
  if (o.admin === undefined) return null;
  try {
    const ends = await o.admin.fetchTopicOffsets(topic);
    let behind = 0n;
    for (const p of ends) {
      const stored = o.store.nextOffset(topic, p.partition) ?? 0n;
      const end = BigInt(p.high);
      if (end > stored) behind += end - stored;
    }
    return Number(behind);
  } catch {
    return null;
  }
}

/** Top-N keywords or advertisers by impressions: `window` is a condition on time_ms or day with $1. */
function topQuery(table: 'keyword' | 'customer', within: (alias: string) => string): string {
  const col = table === 'keyword' ? 'keyword' : 'customer_id';
  return `WITH imp AS (SELECT ${col} AS k, count(*) AS impressions FROM ad_impressions i WHERE ${within('i')} GROUP BY 1),
               clk AS (SELECT ${table === 'keyword' ? "coalesce(t.keyword, '')" : 'c.customer_id'} AS k,
                              count(*) AS clicks, sum(c.cost_micros) AS cost
                         FROM click_cost c
                         ${table === 'keyword' ? 'LEFT JOIN ad_impressions t ON t.pv_id = c.pv_id AND t.position = c.position' : ''}
                        WHERE ${within('c')} GROUP BY 1)
          SELECT coalesce(imp.k, clk.k) AS k, coalesce(imp.impressions, 0) AS impressions,
                 coalesce(clk.clicks, 0) AS clicks, coalesce(clk.cost, 0) AS cost
            FROM imp FULL OUTER JOIN clk ON imp.k = clk.k
           ORDER BY impressions DESC, clicks DESC, k LIMIT $2`;
}

/** Today's totals and top-N lists: from the cache while it is fresh, else computed (and kept). */
async function todayOf(o: LiveOptions, day: string, nowMs: number): Promise<TodayPart> {
  const cache = o.todayCache;
  if (cache?.fresh(day, nowMs)) return cache.part!;
  const started = performance.now();
  const q = (sql: string, params: (string | number)[]) => o.store.query(sql, params);
  const [pv, imp, dec, cost, kw, adv] = await Promise.all([
    q(`SELECT count(*) AS n FROM page_views WHERE day = $1`, [day]),
    q(`SELECT count(*) AS n FROM ad_impressions WHERE day = $1`, [day]),
    q(`SELECT count(*) FILTER (WHERE NOT billable) AS invalid FROM click_decisions WHERE day = $1`, [day]),
    q(`SELECT count(*) AS clicks, sum(cost_micros) AS cost FROM click_cost WHERE day = $1`, [day]),
    q(
      topQuery('keyword', (a) => `${a}.day = $1`),
      [day, o.topN],
    ),
    q(
      topQuery('customer', (a) => `${a}.day = $1`),
      [day, o.topN],
    ),
  ]);
  const impressions = num(imp[0]?.n);
  const clicks = num(cost[0]?.clicks);
  const part: TodayPart = {
    day,
    totals: {
      queries: num(pv[0]?.n),
      impressions,
      clicks,
      invalidClicks: num(dec[0]?.invalid),
      costMicros: num(cost[0]?.cost),
      ctr: impressions > 0 ? Math.round((clicks / impressions) * 1e6) / 1e6 : 0,
    },
    topKeywords: top(kw),
    topAdvertisers: top(adv),
  };
  if (cache !== undefined) {
    cache.part = part;
    cache.atMs = nowMs;
    cache.tookMs = performance.now() - started;
  }
  return part;
}

export async function liveSnapshot(o: LiveOptions): Promise<LiveSnapshot> {
  const nowMs = (o.now ?? Date.now)();
  const day = dayOf(nowMs, o.timeZone);
  const nowS = Math.floor(nowMs / 1000);
  const seconds = Array.from({ length: SERIES_SECONDS }, (_, i) => nowS - SERIES_SECONDS + 1 + i);
  const fromMs = seconds[0]! * 1000;
  const nowMin = Math.floor(nowMs / 60_000);
  const minutes = Array.from({ length: SPEND_MINUTES }, (_, i) => (nowMin - SPEND_MINUTES + 1 + i) * 60);
  const since5m = nowMs - FIVE_MINUTES_MS;
  const q = (sql: string, params: (string | number)[]) => o.store.query(sql, params);
  const [pvS, impS, clkS, spend, reasons, last5, kw5, adv5, newest, todayPart] = await Promise.all([
    q(`SELECT time_ms // 1000 AS s, count(*) AS n FROM page_views WHERE time_ms >= $1 GROUP BY 1`, [fromMs]),
    q(`SELECT time_ms // 1000 AS s, count(*) AS n FROM ad_impressions WHERE time_ms >= $1 GROUP BY 1`, [
      fromMs,
    ]),
    q(
      `SELECT time_ms // 1000 AS s, count(*) FILTER (WHERE billable) AS valid,
                count(*) FILTER (WHERE NOT billable) AS invalid
           FROM click_decisions WHERE time_ms >= $1 GROUP BY 1`,
      [fromMs],
    ),
    q(
      `SELECT time_ms // 60000 * 60 AS s, sum(price_micros) AS n FROM settlements WHERE time_ms >= $1 GROUP BY 1`,
      [minutes[0]! * 1000],
    ),
    q(`SELECT reason, count(*) AS n FROM click_decisions WHERE time_ms >= $1 AND NOT billable GROUP BY 1`, [
      since5m,
    ]),
    q(
      `SELECT (SELECT count(*) FROM page_views WHERE time_ms >= $1) AS queries,
                (SELECT count(*) FROM ad_impressions WHERE time_ms >= $1) AS impressions,
                (SELECT count(*) FROM settlements WHERE time_ms >= $1) AS clicks`,
      [since5m],
    ),
    q(
      topQuery('keyword', (a) => `${a}.time_ms >= $1`),
      [since5m, o.topN],
    ),
    q(
      topQuery('customer', (a) => `${a}.time_ms >= $1`),
      [since5m, o.topN],
    ),
    q(
      `SELECT 'pv' AS kind, max(time_ms) AS t FROM page_views
         UNION ALL SELECT 'clicks', max(time_ms) FROM click_decisions
         UNION ALL SELECT 'settlement', max(time_ms) FROM settlements
         UNION ALL SELECT 'corrections', max(created_at_ms) FROM refunds
         UNION ALL SELECT 'changes', max(at_ms) FROM customer_changes`,
      [],
    ),
    todayOf(o, day, nowMs),
  ]);
  const queries = perSecond(pvS, seconds);
  const impressions = perSecond(impS, seconds);
  const validClicks = perSecond(clkS, seconds, 'valid');
  const invalidClicks = perSecond(clkS, seconds, 'invalid');
  const avg = (xs: number[]) => Math.round((xs.slice(-6, -1).reduce((a, b) => a + b, 0) / 5) * 10) / 10;
  const spendBy = new Map(spend.map((r) => [num(r.s), num(r.n)]));
  const invalidByReasonLast5m: Record<string, number> = {};
  for (const r of REJECT_REASONS) invalidByReasonLast5m[r] = 0;
  for (const r of reasons) invalidByReasonLast5m[String(r.reason)] = num(r.n);
  const l5 = last5[0] ?? {};
  const newestBy = new Map(newest.map((r) => [String(r.kind), r.t === null ? null : num(r.t)]));
  const lag: TopicLag[] = await Promise.all(
    (Object.entries(o.topics) as [keyof ReportTopics, string][]).map(async ([kind, topic]) => {
      const newestMs = newestBy.get(kind) ?? null;
      return {
        topic,
        kind,
        records: await recordsBehind(o, topic),
        eventAgeSeconds: newestMs === null ? null : Math.max(0, Math.round((nowMs - newestMs) / 100) / 10),
      };
    }),
  );
  return {
    nowMs,
    day,
    timeZone: o.timeZone,
    seconds,
    queries,
    impressions,
    validClicks,
    invalidClicks,
    rates: {
      queries: avg(queries),
      impressions: avg(impressions),
      validClicks: avg(validClicks),
      invalidClicks: avg(invalidClicks),
    },
    invalidByReasonLast5m,
    minutes,
    chargedMicrosPerMinute: minutes.map((m) => spendBy.get(m) ?? 0),
    today: todayPart.totals,
    todayAsOfMs: o.todayCache?.atMs ?? nowMs,
    last5m: {
      queries: num(l5.queries),
      impressions: num(l5.impressions),
      clicks: num(l5.clicks),
      ctr: num(l5.impressions) > 0 ? Math.round((num(l5.clicks) / num(l5.impressions)) * 1e6) / 1e6 : 0,
    },
    topKeywords: { last5m: top(kw5), today: todayPart.topKeywords },
    topAdvertisers: { last5m: top(adv5), today: todayPart.topAdvertisers },
    lag,
  };
}
