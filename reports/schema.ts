// The analytics database's tables and views (DuckDB). Raw events, kept for --retention-days:
//   page_views       one row per answered ad request (deduplicated by pv id: no key, see store.ts)
//   ad_impressions   one row per shown ad (written with its page view, so deduplicated with it)
//   budget_losses    one row per ad lost to budget (PvRecord.lostToBudget: an ad of a customer
//                    offline for its budget that would have been shown), written with its page view
//   click_decisions  one row per click-filter decision (deduplicated by decision id)
// Money, kept for ever (small: one row per billable click or refund, like billing's ledger):
//   settlements      one row per charged click id (the first settlement record wins, as in billing)
//   refunds          one row per refund id (the first record wins, as in billing)
// Rollups of days past the retention (rows are added, never updated: readers always SUM):
//   rollup_page_views, rollup_impressions, rollup_decisions, click_terms (the query, region,
//   keyword and match type of every settled click of a rolled-up day, so search-term cost stays
//   exact after the raw impressions are gone)
// Customer status over time (customer_changes: every customer upsert or delete of the changes topic,
// by message id; for_budget: offline with billing's reason `budget`), for the time spent offline
// for budget. rollup_budget_losses holds the lost ads of rolled-up days by hour.
// Bookkeeping: positions (next Kafka offset per topic partition, written in the same transaction
// as the rows), meta (the database id).
//
// Views put raw and rolled-up data behind one name (impressions_hourly, decisions_hourly,
// page_views_hourly, terms, click_cost). The reports use click_cost and terms as they are; for
// impressions and decisions they build narrower unions of the same tables (reports/queries.ts),
// and the two hourly views stay for ad-hoc SQL.
// click_cost applies billing's refund rules (billing/ledger.ts): a `duplicate` refund moves no
// money, a refund for another customer's click moves none, and a click is never refunded beyond
// its price. Applied one by one with a cap, refunds of a click add up to min(price, sum): the
// view computes exactly that, so the order refunds arrive in does not matter.
export const SCHEMA_VERSION = 1;

export const DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS positions (topic VARCHAR NOT NULL, part INTEGER NOT NULL,
     next_offset BIGINT NOT NULL, updated_ms BIGINT NOT NULL, PRIMARY KEY (topic, part))`,
  `CREATE TABLE IF NOT EXISTS page_views (pv_id VARCHAR NOT NULL, time_ms BIGINT NOT NULL,
     day VARCHAR NOT NULL, hour SMALLINT NOT NULL, query VARCHAR NOT NULL, region VARCHAR NOT NULL,
     ads SMALLINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ad_impressions (pv_id VARCHAR NOT NULL, position SMALLINT NOT NULL,
     time_ms BIGINT NOT NULL, day VARCHAR NOT NULL, hour SMALLINT NOT NULL, customer_id VARCHAR NOT NULL,
     offer_id VARCHAR NOT NULL, bidword_id VARCHAR NOT NULL, keyword VARCHAR NOT NULL,
     match_type VARCHAR NOT NULL, query VARCHAR NOT NULL, region VARCHAR NOT NULL,
     price_micros BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS click_decisions (decision_id VARCHAR PRIMARY KEY, click_id VARCHAR NOT NULL,
     pv_id VARCHAR NOT NULL, position SMALLINT NOT NULL, time_ms BIGINT NOT NULL, day VARCHAR NOT NULL,
     hour SMALLINT NOT NULL, customer_id VARCHAR NOT NULL, offer_id VARCHAR NOT NULL,
     bidword_id VARCHAR NOT NULL, reason VARCHAR NOT NULL, billable BOOLEAN NOT NULL,
     price_micros BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS settlements (click_id VARCHAR PRIMARY KEY, pv_id VARCHAR NOT NULL,
     position SMALLINT NOT NULL, time_ms BIGINT NOT NULL, day VARCHAR NOT NULL, hour SMALLINT NOT NULL,
     customer_id VARCHAR NOT NULL, offer_id VARCHAR NOT NULL, bidword_id VARCHAR NOT NULL,
     price_micros BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS refunds (refund_id VARCHAR PRIMARY KEY, click_id VARCHAR NOT NULL,
     customer_id VARCHAR NOT NULL, amount_micros BIGINT NOT NULL, reason VARCHAR NOT NULL,
     created_at_ms BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS customer_changes (message_id BIGINT PRIMARY KEY, customer_id VARCHAR NOT NULL,
     at_ms BIGINT NOT NULL, status VARCHAR NOT NULL, daily_budget_micros BIGINT NOT NULL)`,
  // Added after the first release: a database made before it gains the column (false for its rows).
  `ALTER TABLE customer_changes ADD COLUMN IF NOT EXISTS for_budget BOOLEAN DEFAULT false`,
  `CREATE TABLE IF NOT EXISTS budget_losses (pv_id VARCHAR NOT NULL, position SMALLINT NOT NULL,
     time_ms BIGINT NOT NULL, day VARCHAR NOT NULL, hour SMALLINT NOT NULL, customer_id VARCHAR NOT NULL,
     offer_id VARCHAR NOT NULL, bidword_id VARCHAR NOT NULL, query VARCHAR NOT NULL, region VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rollup_budget_losses (day VARCHAR NOT NULL, hour SMALLINT NOT NULL,
     customer_id VARCHAR NOT NULL, offer_id VARCHAR NOT NULL, bidword_id VARCHAR NOT NULL,
     region VARCHAR NOT NULL, losses BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rollup_page_views (day VARCHAR NOT NULL, hour SMALLINT NOT NULL,
     region VARCHAR NOT NULL, page_views BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rollup_impressions (day VARCHAR NOT NULL, hour SMALLINT NOT NULL,
     customer_id VARCHAR NOT NULL, offer_id VARCHAR NOT NULL, bidword_id VARCHAR NOT NULL,
     keyword VARCHAR NOT NULL, match_type VARCHAR NOT NULL, query VARCHAR NOT NULL,
     region VARCHAR NOT NULL, impressions BIGINT NOT NULL, position_sum BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rollup_decisions (day VARCHAR NOT NULL, hour SMALLINT NOT NULL,
     customer_id VARCHAR NOT NULL, offer_id VARCHAR NOT NULL, bidword_id VARCHAR NOT NULL,
     reason VARCHAR NOT NULL, billable BOOLEAN NOT NULL, decisions BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS click_terms (pv_id VARCHAR NOT NULL, position SMALLINT NOT NULL,
     query VARCHAR NOT NULL, region VARCHAR NOT NULL, keyword VARCHAR NOT NULL, match_type VARCHAR NOT NULL)`,
  `CREATE OR REPLACE VIEW page_views_hourly AS
     SELECT day, hour, region, count(*)::BIGINT AS page_views FROM page_views GROUP BY day, hour, region
     UNION ALL SELECT day, hour, region, page_views FROM rollup_page_views`,
  `CREATE OR REPLACE VIEW impressions_hourly AS
     SELECT day, hour, customer_id, offer_id, bidword_id, keyword, match_type, query, region,
            count(*)::BIGINT AS impressions, sum(position)::BIGINT AS position_sum
       FROM ad_impressions
      GROUP BY day, hour, customer_id, offer_id, bidword_id, keyword, match_type, query, region
     UNION ALL
     SELECT day, hour, customer_id, offer_id, bidword_id, keyword, match_type, query, region,
            impressions, position_sum FROM rollup_impressions`,
  `CREATE OR REPLACE VIEW decisions_hourly AS
     SELECT day, hour, customer_id, offer_id, bidword_id, reason, billable, count(*)::BIGINT AS decisions
       FROM click_decisions GROUP BY day, hour, customer_id, offer_id, bidword_id, reason, billable
     UNION ALL
     SELECT day, hour, customer_id, offer_id, bidword_id, reason, billable, decisions FROM rollup_decisions`,
  `CREATE OR REPLACE VIEW terms AS
     SELECT pv_id, position, query, region, keyword, match_type FROM ad_impressions
     UNION ALL SELECT pv_id, position, query, region, keyword, match_type FROM click_terms`,
  `CREATE OR REPLACE VIEW click_cost AS
     SELECT s.click_id, s.pv_id, s.position, s.time_ms, s.day, s.hour, s.customer_id, s.offer_id,
            s.bidword_id, s.price_micros,
            least(s.price_micros, coalesce(r.requested, 0))::BIGINT AS refunded_micros,
            (s.price_micros - least(s.price_micros, coalesce(r.requested, 0)))::BIGINT AS cost_micros
       FROM settlements s
       LEFT JOIN (SELECT f.click_id, f.customer_id, sum(f.amount_micros) AS requested
                    FROM refunds f WHERE f.reason <> 'duplicate'
                   GROUP BY f.click_id, f.customer_id) r
         ON r.click_id = s.click_id AND r.customer_id = s.customer_id`,
];

/**
 * Staging tables (per connection, temporary) that a batch is appended to before the insert that
 * skips ids already stored. A staged page view carries its record's text: the impressions of the
 * new page views are unnested from it into ad_impressions (reports/store.ts).
 */
export const STAGING_DDL: readonly string[] = [
  `CREATE TEMP TABLE IF NOT EXISTS stage_page_views (pv_id VARCHAR NOT NULL, time_ms BIGINT NOT NULL,
     day VARCHAR NOT NULL, hour SMALLINT NOT NULL, query VARCHAR NOT NULL, region VARCHAR NOT NULL,
     ads SMALLINT NOT NULL, body VARCHAR NOT NULL)`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_decisions AS SELECT * FROM click_decisions LIMIT 0`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_settlements AS SELECT * FROM settlements LIMIT 0`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_refunds AS SELECT * FROM refunds LIMIT 0`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_customer_changes AS SELECT * FROM customer_changes LIMIT 0`,
  `CREATE TEMP TABLE IF NOT EXISTS stage_budget_losses AS SELECT * FROM budget_losses LIMIT 0`,
];
