// The reports database: one DuckDB file, one writer connection (ingest and rollups, serialized
// through a promise queue) and short-lived reader connections for reports and the dashboard
// (DuckDB's MVCC lets readers see the last committed state while the writer works).
//
// Exactly once in effect: every batch of one topic partition is ONE transaction that inserts its
// rows and moves that partition's stored position (`positions`). Records below the stored position
// are dropped before the transaction (a redelivery after a crash or a rebalance), and on start the
// consumer seeks to the stored positions (reports/consumer.ts). Inside a batch, rows are
// deduplicated by their natural ids (pv id, decision id, click id, refund id: the first wins, as
// in billing's ledger), so a producer retry that wrote a record twice is counted once too; page
// views are checked against the stored ones of the batch's time range (see insertRows).
//
// Retention: `rollup(beforeDay)` moves every day before `beforeDay` from the raw tables into the
// hourly rollups in one transaction (schema.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { PageViewRow, Rows } from './records.js';
import { DDL, STAGING_DDL } from './schema.js';

export interface Position {
  topic: string;
  partition: number;
  nextOffset: string;
}

export interface BatchResult {
  pageViews: number;
  impressions: number;
  budgetLosses: number;
  decisions: number;
  settlements: number;
  refunds: number;
  customerChanges: number;
}

export type Row = Record<string, string | number | boolean | null>;

/** The default of --checkpoint-mb (reports/config.ts). */
export const DEFAULT_CHECKPOINT_MB = 256;

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** DuckDB values -> plain JSON-able JS (BIGINT and HUGEINT sums as numbers: micros fit 2^53). */
function plain(v: unknown): string | number | boolean | null {
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined) return null;
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

export class ReportStore {
  private readonly positionsByKey = new Map<string, bigint>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    readonly id: string,
  ) {}

  /**
   * Opens (creating when missing) the database at `path` (':memory:' for tests). `threads` caps
   * DuckDB's worker threads (default: one per core). `checkpointMb`: the write-ahead log size
   * that triggers a checkpoint (DuckDB's default, 16 MB, checkpoints every few batches at a few
   * thousand events/s, and each checkpoint rewrites the page-view key index: a third of ingest's
   * time at 2M impressions; a bigger log costs only a longer replay after a crash).
   * Storage is written in the pinned DuckDB's own format (storage_compatibility_version
   * `latest`, not the v0.10.2-readable default): its newer string compression made checkpoints
   * cheaper: ingest 49.8-53.6k records/s instead of 46.8k and the 30-day report about 30% faster
   * (BENCHMARKS.md, reports ingest).
   * A file made with the default opens as before; the file is then readable by this DuckDB
   * version or newer only, which is the one package-lock.json installs.
   */
  static async open(
    path: string,
    options: { threads?: number; checkpointMb?: number } = {},
  ): Promise<ReportStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const settings: Record<string, string> = {
      checkpoint_threshold: `${options.checkpointMb ?? DEFAULT_CHECKPOINT_MB}MB`,
      storage_compatibility_version: 'latest',
    };
    if (options.threads !== undefined) settings.threads = String(options.threads);
    const instance = await DuckDBInstance.create(path, settings);
    const writer = await instance.connect();
    for (const sql of DDL) await writer.run(sql);
    for (const sql of STAGING_DDL) await writer.run(sql);
    const found = (await writer.runAndReadAll(`SELECT value FROM meta WHERE key = 'id'`)).getRowsJS();
    let id = found[0]?.[0] as string | undefined;
    if (id === undefined) {
      id = randomBytes(6).toString('hex');
      await writer.run(`INSERT INTO meta VALUES ('id', $1)`, [id]);
    }
    const store = new ReportStore(instance, writer, id);
    for (const p of await store.positions())
      store.positionsByKey.set(key(p.topic, p.partition), BigInt(p.nextOffset));
    return store;
  }

  /** The next offset to read of a partition, or undefined when nothing of it was stored yet. */
  nextOffset(topic: string, partition: number): bigint | undefined {
    return this.positionsByKey.get(key(topic, partition));
  }

  async positions(): Promise<Position[]> {
    const rows = await this.query(`SELECT topic, part, next_offset FROM positions ORDER BY topic, part`);
    return rows.map((r) => ({
      topic: String(r.topic),
      partition: Number(r.part),
      nextOffset: String(r.next_offset),
    }));
  }

  /** Runs `fn` on the writer connection after every write queued before it. */
  private write<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.closed) throw new Error('the reports store is closed');
      return fn(this.writer);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Writes the rows of one partition's slice and moves its position to `nextOffset`, in one
   * transaction. The caller has already dropped records below the stored position.
   */
  applyBatch(rows: Rows, position: Position, nowMs = Date.now()): Promise<BatchResult> {
    return this.write(async (c) => {
      const k = key(position.topic, position.partition);
      const next = BigInt(position.nextOffset);
      const stored = this.positionsByKey.get(k);
      if (stored !== undefined && next <= stored)
        return {
          pageViews: 0,
          impressions: 0,
          budgetLosses: 0,
          decisions: 0,
          settlements: 0,
          refunds: 0,
          customerChanges: 0,
        };
      await c.run('BEGIN TRANSACTION');
      try {
        const result = await insertRows(c, rows);
        await c.run(
          `INSERT INTO positions VALUES ($1, $2, $3, $4)
             ON CONFLICT (topic, part) DO UPDATE SET next_offset = excluded.next_offset, updated_ms = excluded.updated_ms`,
          [position.topic, position.partition, next, BigInt(nowMs)],
        );
        await c.run('COMMIT');
        this.positionsByKey.set(k, next);
        return result;
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Moves every day before `beforeDay` from the raw tables into the hourly rollups (one
   * transaction). Returns the number of raw impressions rolled up.
   */
  rollup(beforeDay: string): Promise<number> {
    return this.write(async (c) => {
      const n = Number(
        (
          await c.runAndReadAll(`SELECT count(*) FROM ad_impressions WHERE day < $1`, [beforeDay])
        ).getRowsJS()[0]?.[0] ?? 0,
      );
      const d = Number(
        (
          await c.runAndReadAll(`SELECT count(*) FROM click_decisions WHERE day < $1`, [beforeDay])
        ).getRowsJS()[0]?.[0] ?? 0,
      );
      const p = Number(
        (
          await c.runAndReadAll(`SELECT count(*) FROM page_views WHERE day < $1`, [beforeDay])
        ).getRowsJS()[0]?.[0] ?? 0,
      );
      if (n === 0 && d === 0 && p === 0) return 0;
      await c.run('BEGIN TRANSACTION');
      try {
        const args = [beforeDay];
        await c.run(
          `INSERT INTO rollup_page_views SELECT day, hour, region, count(*) FROM page_views
            WHERE day < $1 GROUP BY day, hour, region`,
          args,
        );
        await c.run(
          `INSERT INTO rollup_impressions
           SELECT day, hour, customer_id, offer_id, bidword_id, keyword, match_type, query, region,
                  count(*), sum(position)
             FROM ad_impressions WHERE day < $1
            GROUP BY day, hour, customer_id, offer_id, bidword_id, keyword, match_type, query, region`,
          args,
        );
        await c.run(
          `INSERT INTO rollup_decisions
           SELECT day, hour, customer_id, offer_id, bidword_id, reason, billable, count(*)
             FROM click_decisions WHERE day < $1
            GROUP BY day, hour, customer_id, offer_id, bidword_id, reason, billable`,
          args,
        );
        await c.run(
          `INSERT INTO click_terms
           SELECT i.pv_id, i.position, i.query, i.region, i.keyword, i.match_type
             FROM ad_impressions i JOIN settlements s ON s.pv_id = i.pv_id AND s.position = i.position
            WHERE i.day < $1`,
          args,
        );
        await c.run(
          `INSERT INTO rollup_budget_losses
           SELECT day, hour, customer_id, offer_id, bidword_id, region, count(*)
             FROM budget_losses WHERE day < $1
            GROUP BY day, hour, customer_id, offer_id, bidword_id, region`,
          args,
        );
        await c.run(`DELETE FROM budget_losses WHERE day < $1`, args);
        await c.run(`DELETE FROM ad_impressions WHERE day < $1`, args);
        await c.run(`DELETE FROM page_views WHERE day < $1`, args);
        await c.run(`DELETE FROM click_decisions WHERE day < $1`, args);
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      return n;
    });
  }

  /** Runs a read-only query on a fresh connection (sees the last committed state). */
  async query(sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
    const c = await this.instance.connect();
    try {
      const reader = await c.runAndReadAll(sql, params);
      return reader.getRowObjectsJS().map((r) => {
        const o: Row = {};
        for (const [k, v] of Object.entries(r)) o[k] = plain(v);
        return o;
      });
    } finally {
      c.closeSync();
    }
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.closed) return;
    this.closed = true;
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    this.writer.closeSync();
    this.instance.closeSync();
  }
}

async function insertRows(c: DuckDBConnection, rows: Rows): Promise<BatchResult> {
  const result: BatchResult = {
    pageViews: 0,
    impressions: 0,
    budgetLosses: 0,
    decisions: 0,
    settlements: 0,
    refunds: 0,
    customerChanges: 0,
  };
  if (rows.pageViews.length > 0) {
    const pageViews = firstOf(rows.pageViews, (r) => r.pvId);
    await stagePageViews(c, pageViews);
    // Page views already stored (a producer retry) stay out, and their ads with them. A retry
    // repeats the record byte for byte (services/blender/pv-log.ts sends the same serialized
    // messages again), so its original has the same time: only stored page views of the batch's
    // time range are looked at, which DuckDB's per-row-group min/max of time_ms narrows to the
    // newest row groups. (A primary key over every page view did the same at a third of ingest's
    // cost, growing with the table: BENCHMARKS.md, reports ingest.)
    let minMs = pageViews[0]!.timeMs;
    let maxMs = minMs;
    for (const r of pageViews) {
      if (r.timeMs < minMs) minMs = r.timeMs;
      if (r.timeMs > maxMs) maxMs = r.timeMs;
    }
    await c.run(
      `DELETE FROM stage_page_views WHERE pv_id IN (
         SELECT p.pv_id FROM page_views p
          WHERE p.time_ms BETWEEN ${Math.trunc(minMs)} AND ${Math.trunc(maxMs)}
            AND p.pv_id IN (SELECT pv_id FROM stage_page_views))`,
    );
    result.pageViews = await changed(
      c,
      `INSERT INTO page_views SELECT pv_id, time_ms, day, hour, query, region, ads FROM stage_page_views`,
    );
    result.impressions = await changed(c, IMPRESSIONS_OF_STAGED_PAGE_VIEWS);
    if (rows.budgetLosses.length > 0) {
      // Rare (a customer offline for budget matched): stored with their page view, only when it is new.
      await append(c, 'stage_budget_losses', (a) => {
        for (const r of rows.budgetLosses) {
          a.appendVarchar(r.pvId);
          a.appendSmallInt(r.position);
          a.appendBigInt(BigInt(r.timeMs));
          a.appendVarchar(r.day);
          a.appendSmallInt(r.hour);
          a.appendVarchar(r.customerId);
          a.appendVarchar(r.offerId);
          a.appendVarchar(r.bidwordId);
          a.appendVarchar(r.query);
          a.appendVarchar(r.region);
          a.endRow();
        }
      });
      // The first record of a pv id wins, as for its ads (a batch can hold a retried copy).
      result.budgetLosses = await changed(
        c,
        `INSERT INTO budget_losses
         SELECT l.* FROM stage_budget_losses l
          WHERE l.pv_id IN (SELECT pv_id FROM stage_page_views)
          QUALIFY row_number() OVER (PARTITION BY l.pv_id, l.position ORDER BY l.time_ms) = 1`,
      );
      await c.run(`DELETE FROM stage_budget_losses`);
    }
    await c.run(`DELETE FROM stage_page_views`);
  }
  if (rows.decisions.length > 0) {
    await append(c, 'stage_decisions', (a) => {
      for (const r of firstOf(rows.decisions, (d) => d.decisionId)) {
        a.appendVarchar(r.decisionId);
        a.appendVarchar(r.clickId);
        a.appendVarchar(r.pvId);
        a.appendSmallInt(r.position);
        a.appendBigInt(BigInt(r.timeMs));
        a.appendVarchar(r.day);
        a.appendSmallInt(r.hour);
        a.appendVarchar(r.customerId);
        a.appendVarchar(r.offerId);
        a.appendVarchar(r.bidwordId);
        a.appendVarchar(r.reason);
        a.appendBoolean(r.billable);
        a.appendBigInt(BigInt(r.priceMicros));
        a.endRow();
      }
    });
    result.decisions = await changed(
      c,
      `INSERT INTO click_decisions SELECT * FROM stage_decisions ON CONFLICT DO NOTHING`,
    );
    await c.run(`DELETE FROM stage_decisions`);
  }
  if (rows.settlements.length > 0) {
    await append(c, 'stage_settlements', (a) => {
      for (const r of firstOf(rows.settlements, (d) => d.clickId)) {
        a.appendVarchar(r.clickId);
        a.appendVarchar(r.pvId);
        a.appendSmallInt(r.position);
        a.appendBigInt(BigInt(r.timeMs));
        a.appendVarchar(r.day);
        a.appendSmallInt(r.hour);
        a.appendVarchar(r.customerId);
        a.appendVarchar(r.offerId);
        a.appendVarchar(r.bidwordId);
        a.appendBigInt(BigInt(r.priceMicros));
        a.endRow();
      }
    });
    result.settlements = await changed(
      c,
      `INSERT INTO settlements SELECT * FROM stage_settlements ON CONFLICT DO NOTHING`,
    );
    await c.run(`DELETE FROM stage_settlements`);
  }
  if (rows.refunds.length > 0) {
    await append(c, 'stage_refunds', (a) => {
      for (const r of firstOf(rows.refunds, (d) => d.refundId)) {
        a.appendVarchar(r.refundId);
        a.appendVarchar(r.clickId);
        a.appendVarchar(r.customerId);
        a.appendBigInt(BigInt(r.amountMicros));
        a.appendVarchar(r.reason);
        a.appendBigInt(BigInt(r.createdAtMs));
        a.endRow();
      }
    });
    result.refunds = await changed(
      c,
      `INSERT INTO refunds SELECT * FROM stage_refunds ON CONFLICT DO NOTHING`,
    );
    await c.run(`DELETE FROM stage_refunds`);
  }
  if (rows.customerChanges.length > 0) {
    await append(c, 'stage_customer_changes', (a) => {
      for (const r of firstOf(rows.customerChanges, (d) => String(d.messageId))) {
        a.appendBigInt(BigInt(r.messageId));
        a.appendVarchar(r.customerId);
        a.appendBigInt(BigInt(r.atMs));
        a.appendVarchar(r.status);
        a.appendBigInt(BigInt(r.dailyBudgetMicros));
        a.appendBoolean(r.forBudget);
        a.endRow();
      }
    });
    result.customerChanges = await changed(
      c,
      `INSERT INTO customer_changes SELECT * FROM stage_customer_changes ON CONFLICT DO NOTHING`,
    );
    await c.run(`DELETE FROM stage_customer_changes`);
  }
  return result;
}

/**
 * One impression row per ad of each staged page view: DuckDB parses the ads out of the record's
 * text (records.ts checked it against PvRecord and left one ad per position).
 */
const IMPRESSIONS_OF_STAGED_PAGE_VIEWS = `
  INSERT INTO ad_impressions
  SELECT pv_id, ad.position, time_ms, day, hour, ad.customerId, ad.offerId, ad.bidwordId, ad.keyword,
         ad.matchType, query, region, ad.priceMicros
    FROM (SELECT pv_id, time_ms, day, hour, query, region,
                 unnest(from_json(body, '{"ads": [{"position": "SMALLINT", "customerId": "VARCHAR",
                   "offerId": "VARCHAR", "bidwordId": "VARCHAR", "keyword": "VARCHAR",
                   "matchType": "VARCHAR", "priceMicros": "BIGINT"}]}').ads) AS ad
            FROM stage_page_views)`;

function stagePageViews(c: DuckDBConnection, pageViews: readonly PageViewRow[]): Promise<void> {
  return append(c, 'stage_page_views', (a) => {
    for (const r of pageViews) {
      a.appendVarchar(r.pvId);
      a.appendBigInt(BigInt(r.timeMs));
      a.appendVarchar(r.day);
      a.appendSmallInt(r.hour);
      a.appendVarchar(r.query);
      a.appendVarchar(r.region);
      a.appendSmallInt(r.ads);
      a.appendVarchar(r.body);
      a.endRow();
    }
  });
}

/** The first row of each id, in order (the first record wins, as in billing). */
function firstOf<T>(rows: readonly T[], id: (r: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const r of rows) {
    const k = id(r);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}

/** Appends rows to a staging table (temporary, of this connection). */
async function append(c: DuckDBConnection, table: string, fill: (a: DuckDBAppender) => void): Promise<void> {
  const a = await c.createAppender(table, 'main', 'temp');
  try {
    fill(a);
    a.flushSync();
  } finally {
    a.closeSync();
  }
}

async function changed(c: DuckDBConnection, sql: string): Promise<number> {
  const r = await c.run(sql);
  return Number(r.rowsChanged);
}
