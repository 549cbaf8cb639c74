// Benchmark of the reports service's ingest and of its 30-day hourly report.
//
//   node --import tsx bench/reports-ingest.ts [--impressions 10000000] [--days 30] [--batch 20000]
//        [--customers 2000] [--db FILE] [--reports 20] [--threads 1] [--report-threads CORES]
//        [--checkpoint-mb 256]
//
// Ingest: page-view records (3 ads each), click decisions (2% of impressions, a quarter of them
// invalid) and settlements for the valid ones are made as the blender and the click filter write
// them (JSON values, as Kafka hands them over), spread evenly over --days days ending today, then
// parsed and written exactly as the service does (reports/records.ts addRecord, one
// ReportStore.applyBatch transaction with its position per --batch records). Kafka's fetch is not
// part of it: this is the cost one core pays per event after the fetch (DuckDB capped at --threads
// worker threads, 1 by default: the target is one core). Prints Kafka records/s (wall and CPU),
// events/s (page views, impressions, click decisions and settlements, one event each) and
// impressions/s.
// Report: `hourly()` for the busiest customer over the --days days, --reports times after a
// warm-up, with DuckDB on --report-threads threads (default one per core, as the service runs it);
// prints p50 and max latency.
// Run on a quiet machine (BENCHMARKS.md): numbers taken next to other work mean little.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hourly } from '../reports/queries.js';
import { addRecord, emptyRows, type TopicKind } from '../reports/records.js';
import { DEFAULT_CHECKPOINT_MB, ReportStore } from '../reports/store.js';
import { addDays, dayOf } from '../reports/time.js';
import { ReportRecords } from './report-records.js';

const { values } = parseArgs({
  options: {
    impressions: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '30' },
    batch: { type: 'string', default: '20000' },
    customers: { type: 'string', default: '2000' },
    db: { type: 'string' },
    reports: { type: 'string', default: '20' },
    threads: { type: 'string', default: '1' },
    'report-threads': { type: 'string', default: String(cpus().length) },
    'checkpoint-mb': { type: 'string', default: String(DEFAULT_CHECKPOINT_MB) },
  },
});
const IMPRESSIONS = Number(values.impressions);
const DAYS = Number(values.days);
const BATCH = Number(values.batch);
const CUSTOMERS = Number(values.customers);
const ADS = 3;
const tmp = values.db === undefined ? mkdtempSync(join(tmpdir(), 'reports-bench-')) : undefined;
const dbPath = values.db ?? join(tmp!, 'reports.duckdb');

const today = dayOf(Date.now(), 'UTC');
const startMs = Date.parse(`${addDays(today, -(DAYS - 1))}T00:00:00Z`);
const spanMs = DAYS * 86_400_000;
const pageViews = Math.ceil(IMPRESSIONS / ADS);

const make = new ReportRecords(CUSTOMERS, ADS);

const store = await ReportStore.open(dbPath, {
  threads: Number(values.threads),
  checkpointMb: Number(values['checkpoint-mb']),
});
const offsets: Record<TopicKind, bigint> = {
  pv: 0n,
  clicks: 0n,
  settlement: 0n,
  corrections: 0n,
  changes: 0n,
};
let generateMs = 0;
let ingestWallMs = 0;
let ingestCpuUs = 0;
let records = 0;

async function flush(kind: TopicKind, values: Buffer[]): Promise<void> {
  if (values.length === 0) return;
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const rows = emptyRows();
  for (const v of values) if (!addRecord(kind, v, 'UTC', rows)) throw new Error(`bad ${kind} record`);
  offsets[kind] += BigInt(values.length);
  await store.applyBatch(rows, { topic: kind, partition: 0, nextOffset: offsets[kind].toString() });
  const used = process.cpuUsage(cpu);
  ingestCpuUs += used.user + used.system;
  ingestWallMs += performance.now() - wall;
  records += values.length;
}

const clickEvery = Math.max(1, Math.round(1 / (0.02 * ADS)));
let pvBuf: Buffer[] = [];
let clickBuf: Buffer[] = [];
let settleBuf: Buffer[] = [];
const t0 = performance.now();
for (let i = 0; i < pageViews; i++) {
  const g = performance.now();
  const timeMs = startMs + Math.floor((i / pageViews) * spanMs);
  const pvId = randomUUID();
  pvBuf.push(make.pv(i, timeMs, pvId));
  if (i % clickEvery === 0) {
    const c = make.click(i, timeMs, pvId);
    clickBuf.push(c.decision);
    if (c.settlement) settleBuf.push(c.settlement);
  }
  generateMs += performance.now() - g;
  if (pvBuf.length >= BATCH) {
    await flush('pv', pvBuf);
    pvBuf = [];
  }
  if (clickBuf.length >= BATCH) {
    await flush('clicks', clickBuf);
    clickBuf = [];
    await flush('settlement', settleBuf);
    settleBuf = [];
  }
  if (i > 0 && i % 500_000 === 0)
    process.stderr.write(
      `  ${i.toLocaleString()} page views, ${Math.round(records / (ingestWallMs / 1000))} records/s\n`,
    );
}
await flush('pv', pvBuf);
await flush('clicks', clickBuf);
await flush('settlement', settleBuf);
const totalS = (performance.now() - t0) / 1000;

// The service runs DuckDB with a thread per core (reports/server.ts): the report is measured so,
// on the database as ingest left it (reopened: the thread cap is per database instance).
let reader = store;
if (Number(values['report-threads']) !== Number(values.threads)) {
  await store.close();
  reader = await ReportStore.open(dbPath, {
    threads: Number(values['report-threads']),
    checkpointMb: Number(values['checkpoint-mb']),
  });
}
const latencies: number[] = [];
const from = addDays(today, -(DAYS - 1));
let rowsBack = 0;
for (let i = 0; i < Number(values.reports) + 2; i++) {
  const t = performance.now();
  const r = await hourly(reader, 'c0', from, today);
  if (i >= 2) latencies.push(performance.now() - t);
  rowsBack = r.length;
}
latencies.sort((a, b) => a - b);
const summary = {
  bench: 'reports-ingest',
  impressions: pageViews * ADS,
  pageViews,
  records,
  days: DAYS,
  batch: BATCH,
  checkpointMb: Number(values['checkpoint-mb']),
  ingest: {
    recordsPerSecWall: Math.round(records / (ingestWallMs / 1000)),
    recordsPerSecCpu: Math.round(records / (ingestCpuUs / 1e6)),
    // Page views, their impressions, click decisions and settlements: one event each.
    eventsPerSecWall: Math.round((records + pageViews * ADS) / (ingestWallMs / 1000)),
    impressionsPerSecWall: Math.round((pageViews * ADS) / (ingestWallMs / 1000)),
    wallS: Math.round(ingestWallMs) / 1000,
    cpuS: Math.round(ingestCpuUs / 1000) / 1000,
    generateS: Math.round(generateMs) / 1000,
    totalS: Math.round(totalS * 10) / 10,
  },
  hourlyReport: {
    threads: Number(values['report-threads']),
    customer: 'c0',
    from,
    to: today,
    rows: rowsBack,
    p50Ms: Math.round(latencies[Math.floor(latencies.length / 2)]! * 10) / 10,
    maxMs: Math.round(latencies.at(-1)! * 10) / 10,
  },
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => Math.round(l * 100) / 100) },
};
await reader.close();
if (tmp) rmSync(tmp, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
