// The reports: SQL over the views of schema.ts (raw and rolled-up data behind one name), shaped
// into the API's JSON. Every figure of a day is in the report time zone; money is integer micros:
// cost = charged - refunded under billing's refund rules (click_cost view), on the day of the click.
//
//   customerDay    one customer, one day: impressions, clicks, invalid clicks by reason, cost, CTR,
//                  average CPC and position
//   customersDay   the same for every customer active on the day (the daily run)
//   searchTerms    the query text, the bidword and match type it matched: impressions, clicks, cost
//   breakdown      one customer's day by offer, bidword, region or hour
//   hourly         one customer's hours over a range of days (the 30-day report)
//
// Concurrency: each query runs on its own reader connection; independent queries run together.
import { CLICK_REASONS } from '../core/click-records.js';
import type { ReportStore, Row } from './store.js';
import { dayBoundsMs } from './time.js';

export const REJECT_REASONS = CLICK_REASONS.filter((r) => r !== 'ok');

export interface Figures {
  impressions: number;
  clicks: number;
  invalidClicks: number;
  chargedMicros: number;
  refundedMicros: number;
  costMicros: number;
  /** clicks / impressions (0 without impressions). */
  ctr: number;
  /** costMicros / clicks, rounded to a micro (0 without clicks). */
  avgCpcMicros: number;
  /** Mean 1-based position of the impressions (0 without impressions). */
  avgPosition: number;
}

export interface CustomerDayReport extends Figures {
  customerId: string;
  day: string;
  timeZone: string;
  /** Click decisions that were not billable, by reason. */
  invalidByReason: Record<string, number>;
  /** Every click decision by reason (`ok` = billable decisions, before billing's once-per-click rule). */
  decisionsByReason: Record<string, number>;
  /** Charged clicks with a refund applied. */
  refundedClicks: number;
  /** Time the customer spent offline for budget on the day (ms); see lostToBudget. */
  offlineForBudgetMs: number;
  /** Impressions its ads would have had while it was offline for budget (counted); see lostToBudget. */
  impressionsLostToBudget: number;
}

/**
 * Impressions of raw and rolled-up days as one relation with only the columns `cols` (plus
 * impressions and position_sum), rows matching `where` (raw and rollup tables share column names).
 * Narrower than the impressions_hourly view, whose grouping by every dimension costs 3-4x on a
 * report that needs two of them.
 */
function impressionsOf(cols: string, where: string): string {
  const sel = cols === '' ? '' : `${cols}, `;
  const group = cols === '' ? '' : ' GROUP BY ALL';
  return `(SELECT ${sel}count(*) AS impressions, sum(position) AS position_sum FROM ad_impressions WHERE ${where}${group}
           UNION ALL
           SELECT ${sel}sum(impressions) AS impressions, sum(position_sum) AS position_sum FROM rollup_impressions
            WHERE ${where}${group})`;
}

/** Click decisions of raw and rolled-up days with only `cols` (plus decisions), as impressionsOf. */
function decisionsOf(cols: string, where: string): string {
  return `(SELECT ${cols}, count(*) AS decisions FROM click_decisions WHERE ${where} GROUP BY ALL
           UNION ALL
           SELECT ${cols}, sum(decisions) AS decisions FROM rollup_decisions WHERE ${where} GROUP BY ALL)`;
}

const n = (v: unknown): number => (typeof v === 'number' ? v : v === null || v === undefined ? 0 : Number(v));

export function figures(f: {
  impressions: number;
  positionSum: number;
  clicks: number;
  invalidClicks: number;
  chargedMicros: number;
  refundedMicros: number;
}): Figures {
  const costMicros = f.chargedMicros - f.refundedMicros;
  return {
    impressions: f.impressions,
    clicks: f.clicks,
    invalidClicks: f.invalidClicks,
    chargedMicros: f.chargedMicros,
    refundedMicros: f.refundedMicros,
    costMicros,
    ctr: f.impressions > 0 ? Math.round((f.clicks / f.impressions) * 1e6) / 1e6 : 0,
    avgCpcMicros: f.clicks > 0 ? Math.round(costMicros / f.clicks) : 0,
    avgPosition: f.impressions > 0 ? Math.round((f.positionSum / f.impressions) * 100) / 100 : 0,
  };
}

export async function customerDay(
  store: ReportStore,
  customerId: string,
  day: string,
  timeZone: string,
  nowMs = Date.now(),
): Promise<CustomerDayReport> {
  const [imp, dec, cost, lost] = await Promise.all([
    store.query(
      `SELECT sum(impressions) AS impressions, sum(position_sum) AS position_sum
         FROM ${impressionsOf('', 'day = $1 AND customer_id = $2')}`,
      [day, customerId],
    ),
    store.query(
      `SELECT reason, billable, sum(decisions) AS decisions
         FROM ${decisionsOf('reason, billable', 'day = $1 AND customer_id = $2')} GROUP BY reason, billable`,
      [day, customerId],
    ),
    store.query(
      `SELECT count(*) AS clicks, sum(price_micros) AS charged, sum(refunded_micros) AS refunded,
              count(*) FILTER (WHERE refunded_micros > 0) AS refunded_clicks
         FROM click_cost WHERE day = $1 AND customer_id = $2`,
      [day, customerId],
    ),
    lostToBudget(store, customerId, day, timeZone, nowMs),
  ]);
  const invalidByReason: Record<string, number> = {};
  const decisionsByReason: Record<string, number> = {};
  let invalid = 0;
  for (const r of dec) {
    const reason = String(r.reason);
    decisionsByReason[reason] = (decisionsByReason[reason] ?? 0) + n(r.decisions);
    if (r.billable !== true) {
      invalidByReason[reason] = (invalidByReason[reason] ?? 0) + n(r.decisions);
      invalid += n(r.decisions);
    }
  }
  const c = cost[0] ?? {};
  return {
    customerId,
    day,
    timeZone,
    ...figures({
      impressions: n(imp[0]?.impressions),
      positionSum: n(imp[0]?.position_sum),
      clicks: n(c.clicks),
      invalidClicks: invalid,
      chargedMicros: n(c.charged),
      refundedMicros: n(c.refunded),
    }),
    invalidByReason,
    decisionsByReason,
    refundedClicks: n(c.refunded_clicks),
    ...lost,
  };
}

/** Lost ads (budget_losses and its rollup) with only `cols` (plus losses), as impressionsOf. */
function lossesOf(cols: string, where: string): string {
  const sel = cols === '' ? '' : `${cols}, `;
  const group = cols === '' ? '' : ' GROUP BY ALL';
  return `(SELECT ${sel}count(*) AS losses FROM budget_losses WHERE ${where}${group}
           UNION ALL
           SELECT ${sel}sum(losses) AS losses FROM rollup_budget_losses WHERE ${where}${group})`;
}

/**
 * Impressions lost to budget, counted: every page view records the ads of customers offline for
 * their budget that would have been among its shown ads (PvRecord.lostToBudget, decided by the
 * searchers and the merger as if those customers were online), and budget_losses keeps them.
 * The time offline for budget comes from the customer's upserts on the changes topic
 * (customer_changes): billing sends `status: offline` with `offlineReason: budget`, and the
 * interval lasts until the customer's next change (or now).
 */
export async function lostToBudget(
  store: ReportStore,
  customerId: string,
  day: string,
  timeZone: string,
  nowMs = Date.now(),
): Promise<{ offlineForBudgetMs: number; impressionsLostToBudget: number }> {
  const { startMs, endMs } = dayBoundsMs(day, timeZone);
  const [changes, losses] = await Promise.all([
    store.query(
      `SELECT at_ms, for_budget FROM customer_changes
        WHERE customer_id = $1 AND at_ms < $2 ORDER BY message_id`,
      [customerId, endMs],
    ),
    store.query(`SELECT sum(losses) AS losses FROM ${lossesOf('', 'day = $1 AND customer_id = $2')}`, [
      day,
      customerId,
    ]),
  ]);
  let offlineMs = 0;
  for (let i = 0; i < changes.length; i++) {
    if (changes[i]!.for_budget !== true) continue;
    const from = n(changes[i]!.at_ms);
    const until = i + 1 < changes.length ? n(changes[i + 1]!.at_ms) : endMs;
    const a = Math.max(from, startMs);
    const b = Math.min(until, endMs, nowMs);
    if (b > a) offlineMs += b - a;
  }
  return { offlineForBudgetMs: offlineMs, impressionsLostToBudget: n(losses[0]?.losses) };
}

export interface CustomerDayRow extends Figures {
  customerId: string;
  day: string;
}

/** Every customer with impressions, click decisions or cost on `day`, by cost then impressions. */
export async function customersDay(store: ReportStore, day: string): Promise<CustomerDayRow[]> {
  const rows = await store.query(
    `WITH imp AS (SELECT customer_id, sum(impressions) AS impressions, sum(position_sum) AS position_sum
                    FROM ${impressionsOf('customer_id', 'day = $1')} GROUP BY customer_id),
          inv AS (SELECT customer_id, sum(decisions) AS invalid
                    FROM ${decisionsOf('customer_id', 'day = $1 AND NOT billable')} GROUP BY customer_id),
          cst AS (SELECT customer_id, count(*) AS clicks, sum(price_micros) AS charged,
                         sum(refunded_micros) AS refunded FROM click_cost WHERE day = $1 GROUP BY customer_id),
          ids AS (SELECT customer_id FROM imp UNION SELECT customer_id FROM inv UNION SELECT customer_id FROM cst)
     SELECT ids.customer_id, imp.impressions, imp.position_sum, inv.invalid, cst.clicks, cst.charged, cst.refunded
       FROM ids LEFT JOIN imp USING (customer_id) LEFT JOIN inv USING (customer_id) LEFT JOIN cst USING (customer_id)
      ORDER BY coalesce(cst.charged, 0) - coalesce(cst.refunded, 0) DESC, coalesce(imp.impressions, 0) DESC, ids.customer_id`,
    [day],
  );
  return rows.map((r) => ({
    customerId: String(r.customer_id),
    day,
    ...figures({
      impressions: n(r.impressions),
      positionSum: n(r.position_sum),
      clicks: n(r.clicks),
      invalidClicks: n(r.invalid),
      chargedMicros: n(r.charged),
      refundedMicros: n(r.refunded),
    }),
  }));
}

export interface SearchTermRow {
  query: string;
  keyword: string;
  matchType: string;
  bidwordId: string;
  impressions: number;
  clicks: number;
  costMicros: number;
  ctr: number;
  avgCpcMicros: number;
  avgPosition: number;
}

/** What buyers searched that showed the customer's ads. Clicks whose page view never arrived count under query "". */
export async function searchTerms(
  store: ReportStore,
  customerId: string,
  day: string,
  limit: number,
): Promise<SearchTermRow[]> {
  const rows = await store.query(
    `WITH imp AS (SELECT query, keyword, match_type, bidword_id, sum(impressions) AS impressions,
                         sum(position_sum) AS position_sum
                    FROM ${impressionsOf('query, keyword, match_type, bidword_id', 'day = $1 AND customer_id = $2')}
                   GROUP BY query, keyword, match_type, bidword_id),
          clk AS (SELECT coalesce(t.query, '') AS query, coalesce(t.keyword, '') AS keyword,
                         coalesce(t.match_type, '') AS match_type, c.bidword_id,
                         count(*) AS clicks, sum(c.cost_micros) AS cost
                    FROM click_cost c LEFT JOIN terms t ON t.pv_id = c.pv_id AND t.position = c.position
                   WHERE c.day = $1 AND c.customer_id = $2
                   GROUP BY ALL)
     SELECT coalesce(imp.query, clk.query) AS query, coalesce(imp.keyword, clk.keyword) AS keyword,
            coalesce(imp.match_type, clk.match_type) AS match_type,
            coalesce(imp.bidword_id, clk.bidword_id) AS bidword_id,
            coalesce(imp.impressions, 0) AS impressions, coalesce(imp.position_sum, 0) AS position_sum,
            coalesce(clk.clicks, 0) AS clicks, coalesce(clk.cost, 0) AS cost
       FROM imp FULL OUTER JOIN clk
         ON imp.query = clk.query AND imp.keyword = clk.keyword AND imp.match_type = clk.match_type
        AND imp.bidword_id = clk.bidword_id
      ORDER BY cost DESC, impressions DESC, query, bidword_id
      LIMIT $3`,
    [day, customerId, limit],
  );
  return rows.map((r) => {
    const f = figures({
      impressions: n(r.impressions),
      positionSum: n(r.position_sum),
      clicks: n(r.clicks),
      invalidClicks: 0,
      chargedMicros: n(r.cost),
      refundedMicros: 0,
    });
    return {
      query: String(r.query),
      keyword: String(r.keyword),
      matchType: String(r.match_type),
      bidwordId: String(r.bidword_id),
      impressions: f.impressions,
      clicks: f.clicks,
      costMicros: f.costMicros,
      ctr: f.ctr,
      avgCpcMicros: f.avgCpcMicros,
      avgPosition: f.avgPosition,
    };
  });
}

export const BREAKDOWNS = ['offer', 'bidword', 'region', 'hour'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

export interface BreakdownRow extends Figures {
  key: string;
}

const COLUMN: Record<Breakdown, string> = {
  offer: 'offer_id',
  bidword: 'bidword_id',
  region: 'region',
  hour: 'hour',
};

/** One customer's day by offer, bidword, region or hour. Invalid clicks by region are not kept (0). */
export async function breakdown(
  store: ReportStore,
  customerId: string,
  day: string,
  by: Breakdown,
): Promise<BreakdownRow[]> {
  const col = COLUMN[by];
  const clicksFrom =
    by === 'region'
      ? `SELECT coalesce(t.region, '') AS k, count(*) AS clicks, sum(c.price_micros) AS charged,
                sum(c.refunded_micros) AS refunded
           FROM click_cost c LEFT JOIN terms t ON t.pv_id = c.pv_id AND t.position = c.position
          WHERE c.day = $1 AND c.customer_id = $2 GROUP BY 1`
      : `SELECT ${col}::VARCHAR AS k, count(*) AS clicks, sum(price_micros) AS charged,
                sum(refunded_micros) AS refunded
           FROM click_cost WHERE day = $1 AND customer_id = $2 GROUP BY 1`;
  const invalidFrom =
    by === 'region'
      ? `SELECT NULL::VARCHAR AS k, 0 AS invalid WHERE false`
      : `SELECT k, sum(decisions) AS invalid
           FROM ${decisionsOf(`${col}::VARCHAR AS k`, 'day = $1 AND customer_id = $2 AND NOT billable')} GROUP BY k`;
  const rows = await store.query(
    `WITH imp AS (SELECT k, sum(impressions) AS impressions, sum(position_sum) AS position_sum
                    FROM ${impressionsOf(`${col}::VARCHAR AS k`, 'day = $1 AND customer_id = $2')} GROUP BY k),
          clk AS (${clicksFrom}),
          inv AS (${invalidFrom}),
          ks AS (SELECT k FROM imp UNION SELECT k FROM clk UNION SELECT k FROM inv)
     SELECT ks.k, imp.impressions, imp.position_sum, clk.clicks, clk.charged, clk.refunded, inv.invalid
       FROM ks LEFT JOIN imp USING (k) LEFT JOIN clk USING (k) LEFT JOIN inv USING (k)
      ORDER BY ${by === 'hour' ? 'ks.k::INTEGER' : 'coalesce(clk.charged, 0) - coalesce(clk.refunded, 0) DESC, coalesce(imp.impressions, 0) DESC, ks.k'}`,
    [day, customerId],
  );
  return rows.map((r) => ({
    key: String(r.k),
    ...figures({
      impressions: n(r.impressions),
      positionSum: n(r.position_sum),
      clicks: n(r.clicks),
      invalidClicks: n(r.invalid),
      chargedMicros: n(r.charged),
      refundedMicros: n(r.refunded),
    }),
  }));
}

export interface HourRow {
  day: string;
  hour: number;
  impressions: number;
  clicks: number;
  costMicros: number;
}

/** One customer's hours from `from` to `to` (days, inclusive): the 30-day hourly report. */
export async function hourly(
  store: ReportStore,
  customerId: string,
  from: string,
  to: string,
): Promise<HourRow[]> {
  const rows: Row[] = await store.query(
    `WITH imp AS (SELECT day, hour, sum(impressions) AS impressions
                    FROM ${impressionsOf('day, hour', 'customer_id = $1 AND day BETWEEN $2 AND $3')} GROUP BY day, hour),
          clk AS (SELECT day, hour, count(*) AS clicks, sum(cost_micros) AS cost FROM click_cost
                   WHERE customer_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day, hour)
     SELECT coalesce(imp.day, clk.day) AS day, coalesce(imp.hour, clk.hour) AS hour,
            coalesce(imp.impressions, 0) AS impressions, coalesce(clk.clicks, 0) AS clicks,
            coalesce(clk.cost, 0) AS cost
       FROM imp FULL OUTER JOIN clk ON imp.day = clk.day AND imp.hour = clk.hour
      ORDER BY 1, 2`,
    [customerId, from, to],
  );
  return rows.map((r) => ({
    day: String(r.day),
    hour: n(r.hour),
    impressions: n(r.impressions),
    clicks: n(r.clicks),
    costMicros: n(r.cost),
  }));
}
