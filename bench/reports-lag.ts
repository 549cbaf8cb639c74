// Benchmark: how far behind the topics the live dashboard is at a steady query rate.
//
//   npm run build && node dist/bench/reports-lag.js [--rate 1000] [--duration 60] [--warmup 10]
//        [--ads 3] [--zk HOST:PORT --kafka HOST:PORT]
//
// Starts ZooKeeper and Kafka in a temp folder (or uses --zk/--kafka), then one `imatch reports`
// process on fresh topics and a fresh database. The bench writes page-view records at --rate per
// second (each with --ads ads, as the blender writes them), a click decision for 2% of the
// impressions (a quarter invalid) and a settlement for each valid one, all stamped with the time
// they are sent, in 20 ms slices, with the project's own idempotent acks=all producer.
// Every 500 ms after --warmup seconds it reads the dashboard's own snapshot (GET /v1/live, what
// the dashboard's stream pushes every tick) and keeps, per topic, the age of the newest event
// stored (`eventAgeSeconds`: now minus the newest stored event time, so it includes Kafka, the
// consumer and the database commit) and the records not yet stored. Prints percentiles, the
// snapshot's own latency, the reports process's CPU, and checks that every page view sent was
// counted once (today's queries) after the producer stops.
// Run on a quiet machine (BENCHMARKS.md).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { createKafka, createProducer, ensureTopics } from '../core/kafka.js';
import { silentLogger } from '../core/logger.js';
import type { LiveSnapshot } from '../reports/live.js';
import { Env, freePort, machine, percentile } from './incremental-env.js';
import { cpuMsOf } from './proc-cpu.js';
import { ReportRecords } from './report-records.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    ads: { type: 'string', default: '3' },
    zk: { type: 'string' },
    kafka: { type: 'string' },
  },
});
const RATE = Number(args.rate);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const ADS = Number(args.ads);
const SLICE_MS = 20;

const env = new Env('reports-lag');
const before = machine();
const work = await mkdtemp(join(tmpdir(), 'imatch-reports-lag-'));
env.cleanups.push(() => rm(work, { recursive: true, force: true }));
try {
  await env.servers(args.zk, args.kafka);
  const tag = `rl${Date.now().toString(36)}`;
  const topics = {
    pv: `${tag}.pv`,
    clicks: `${tag}.clicks`,
    settlement: `${tag}.settlement`,
    corrections: `${tag}.corrections`,
    changes: `${tag}.changes`,
  };
  const kafka = createKafka({ brokers: [env.kafka], clientId: 'bench-reports-lag', log: silentLogger() });
  await ensureTopics(kafka, Object.values(topics));
  const port = await freePort();
  const reports = env.run('reports', [
    'reports',
    '--zk-connect',
    env.zk,
    '--zk-root',
    `/${tag}`,
    '--kafka-brokers',
    env.kafka,
    '--topic-pv',
    topics.pv,
    '--topic-clicks',
    topics.clicks,
    '--topic-settlement',
    topics.settlement,
    '--topic-corrections',
    topics.corrections,
    '--topic-changes',
    topics.changes,
    '--data-dir',
    work,
    '--port',
    String(port),
    '--log-level',
    'warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await env.waitReady(reports, url);
  const live = async (): Promise<{ snap: LiveSnapshot; ms: number }> => {
    const t = performance.now();
    const res = await request(`${url}/v1/live`);
    const snap = (await res.body.json()) as LiveSnapshot;
    return { snap, ms: performance.now() - t };
  };

  const producer = await createProducer(kafka);
  const records = new ReportRecords(500, ADS);
  const clickEvery = Math.max(1, Math.round(1 / (0.02 * ADS)));
  let sent = 0;
  let clicks = 0;
  let late = 0;
  const startMs = Date.now();
  const endMs = startMs + (WARMUP_S + DURATION_S) * 1000;
  const samples: {
    pv: number[];
    clicks: number[];
    settlement: number[];
    behind: number[];
    snapMs: number[];
  } = {
    pv: [],
    clicks: [],
    settlement: [],
    behind: [],
    snapMs: [],
  };
  let cpuAtWarm = 0;
  let warmAt = 0;
  const sampler = (async () => {
    await sleep(WARMUP_S * 1000);
    cpuAtWarm = cpuMsOf(reports.child.pid!) / 1000;
    warmAt = performance.now();
    while (Date.now() < endMs) {
      const { snap, ms } = await live();
      samples.snapMs.push(ms);
      let behind = 0;
      for (const l of snap.lag) {
        behind += l.records ?? 0;
        if (l.eventAgeSeconds !== null && (l.kind === 'pv' || l.kind === 'clicks' || l.kind === 'settlement'))
          samples[l.kind].push(l.eventAgeSeconds);
      }
      samples.behind.push(behind);
      await sleep(500);
    }
  })();

  env.say(`sending ${RATE} page views/s for ${WARMUP_S} + ${DURATION_S} s`);
  for (let slice = 0; ; slice++) {
    const due = startMs + slice * SLICE_MS;
    if (due >= endMs) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -SLICE_MS) late++;
    const n =
      Math.floor(((slice + 1) * SLICE_MS * RATE) / 1000) - Math.floor((slice * SLICE_MS * RATE) / 1000);
    const now = Date.now();
    const pvs = [];
    const decisions = [];
    const settlements = [];
    for (let i = 0; i < n; i++) {
      const pvNo = sent++;
      const pvId = randomUUID();
      pvs.push({ key: pvId, value: records.pv(pvNo, now, pvId) });
      if (pvNo % clickEvery === 0) {
        const c = records.click(pvNo, now, pvId, 0);
        clicks++;
        decisions.push({ key: `${pvId}:1`, value: c.decision });
        if (c.settlement !== undefined) settlements.push({ key: `${pvId}:1`, value: c.settlement });
      }
    }
    await Promise.all([
      pvs.length > 0 ? producer.send(topics.pv, pvs) : undefined,
      decisions.length > 0 ? producer.send(topics.clicks, decisions) : undefined,
      settlements.length > 0 ? producer.send(topics.settlement, settlements) : undefined,
    ]);
  }
  await sampler;
  const cpuUsed = cpuMsOf(reports.child.pid!) / 1000 - cpuAtWarm;
  const measuredS = (performance.now() - warmAt) / 1000;
  const sentS = (Date.now() - startMs) / 1000;

  // Everything sent is counted once: wait until nothing is behind, then compare.
  const drainFrom = Date.now();
  let final: LiveSnapshot | undefined;
  while (Date.now() - drainFrom < 60_000) {
    final = (await live()).snap;
    if (final.lag.every((l) => l.records === 0) && final.today.queries >= sent) break;
    await sleep(200);
  }
  await producer.disconnect();
  const after = machine();
  const q = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN, n: s.length };
  };
  const result = {
    bench: 'reports-lag',
    rate: RATE,
    ads: ADS,
    sent: { pageViews: sent, clicks, seconds: Math.round(sentS * 10) / 10, lateSlices: late },
    eventAgeSeconds: { pv: q(samples.pv), clicks: q(samples.clicks), settlement: q(samples.settlement) },
    recordsBehind: q(samples.behind),
    snapshotMs: q(samples.snapMs.map((x) => Math.round(x * 10) / 10)),
    reportsCpuShare: Math.round((cpuUsed / measuredS) * 1000) / 1000,
    counted: {
      queries: final?.today.queries,
      impressions: final?.today.impressions,
      equalToSent: final?.today.queries === sent && final?.today.impressions === sent * ADS,
    },
    machine: { before, after: after.loadavg },
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await env.close();
}
