// The reports service against the whole engine, real processes only: `imatch gen` snapshot,
// `imatch build-index` (2 columns, published), two searchers, a merger, a blender writing page
// views to Kafka, a click filter, billing and `imatch reports`, on the run's real ZooKeeper and
// Kafka. A burst of queries and clicks (valid, replayed, crawler, no user agent, a bursting user),
// a kill -9 of the reports process in the middle of the stream and a restart, then the hourly
// correction (`imatch correct-clicks`) refunds the bursting user's clicks. Once reports and
// billing have consumed every topic to its end:
//   - each customer's cost for the day equals billing's net (/v1/spend) to the micro;
//   - impressions equal the ads in the pv records; clicks by reason equal the click decisions;
//     charged clicks equal the settled click ids;
//   - `imatch report` prints the same numbers; a second restart changes no number;
//   - every run registers under <root>/services/reports/<id> with the URL it answers on and the
//     database's id, and a graceful stop removes its node before the process exits.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayOf } from '../billing/day.js';
import { hourOf } from '../click-filter/correction/hour.js';
import { ensureTopics, type ImatchConsumer, startConsumer } from '../core/kafka.js';
import type { PvRecord } from '../core/pv-record.js';
import type { ReportsRegistration } from '../core/registrations.js';
import type { ZkClient } from '../core/zookeeper.js';
import {
  BROWSER,
  type Collected,
  CRAWLER,
  click,
  collect,
  getJson,
  newKeyring,
  type Service,
  startBillingProcess,
  startClickFilterProcess,
  topicFlags,
} from './click-support.js';
import {
  freePorts,
  kafkaBrokers,
  spawnImatch,
  testKafka,
  testZk,
  uniqueGroupId,
  uniqueTopic,
  uniqueZkRoot,
  waitFor,
  zkConnect,
} from './helpers/index.js';
import { buildIndexVersion, generateSnapshot, startSearcherProcess } from './helpers/searcher-cluster.js';
import {
  caughtUp,
  type ReportsProcess,
  reportsRegistrations,
  startReportsProcess,
  topicEnds,
} from './reports-support.js';

const COLUMNS = 2;
const OFFERS = 2_000;

interface Ad {
  position: number;
  customerId: string;
  clickUrl: string;
  priceMicros: number;
}
interface Answer {
  requestId: string;
  ads: Ad[];
  coverage: { answered: number };
}
interface CustomerDay {
  customerId: string;
  day: string;
  impressions: number;
  clicks: number;
  invalidClicks: number;
  invalidByReason: Record<string, number>;
  decisionsByReason: Record<string, number>;
  costMicros: number;
  chargedMicros: number;
  refundedMicros: number;
}

let tmp: string;
let blender: Pool;
let cf: Service;
let billing: Service;
let reports: ReportsProcess;
let seen: Collected;
let admin: Admin;
let pvConsumer: ImatchConsumer | undefined;
const pvs: PvRecord[] = [];
let queries: string[] = [];
let clickBase: string;
const root = uniqueZkRoot('reports');
const t = {
  clicks: uniqueTopic('clicks'),
  settlement: uniqueTopic('settlement'),
  corrections: uniqueTopic('corrections'),
  changes: uniqueTopic('changes'),
};
const rt = {
  pv: uniqueTopic('pv'),
  clicks: t.clicks,
  settlement: t.settlement,
  corrections: t.corrections,
  changes: t.changes,
};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-reports-'));
  const snapshotDir = join(tmp, 'bp');
  await generateSnapshot(snapshotDir, OFFERS, 400, 'reports');
  queries = [
    ...new Set(
      (await readFile(join(snapshotDir, 'queries.jsonl'), 'utf8'))
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => (JSON.parse(l) as { q: string }).q),
    ),
  ];
  await buildIndexVersion(snapshotDir, join(tmp, 'index'), COLUMNS, { zkRoot: root });
  for (let c = 0; c < COLUMNS; c++) startSearcherProcess(root, c, 'a');
  const common = ['--zk-connect', zkConnect(), '--zk-root', root, '--log-level', 'warn'];
  spawnImatch(['merger', '--deadline-ms', '3000', '--attempt-timeout-ms', '2000', ...common]);

  const kafka = testKafka('reports-test');
  await ensureTopics(kafka, [rt.pv, t.clicks, t.settlement, t.corrections, t.changes]);
  admin = kafka.admin();
  await admin.connect();
  pvConsumer = await startConsumer(kafka, {
    groupId: uniqueGroupId('reports-pv'),
    topics: [rt.pv],
    eachMessage: async (m) => {
      pvs.push(JSON.parse(m.value!.toString('utf8')) as PvRecord);
    },
  });
  seen = await collect(t);

  const { flag } = newKeyring(5);
  const [cfPort, blenderPort] = (await freePorts(2)) as [number, number];
  clickBase = `http://127.0.0.1:${cfPort}`;
  cf = await startClickFilterProcess([
    '--port',
    String(cfPort),
    '--zk-root',
    root,
    '--click-keys',
    flag,
    '--min-delay-after-pv-ms',
    '0',
    '--trust-proxy',
    'true',
    ...topicFlags(t),
  ]);
  spawnImatch([
    'blender',
    '--port',
    String(blenderPort),
    '--kafka-brokers',
    kafkaBrokers().join(','),
    '--topic-pv',
    rt.pv,
    '--click-keys',
    flag,
    '--click-base-url',
    clickBase,
    '--merger-timeout-ms',
    '5000',
    ...common,
  ]);
  blender = new Pool(`http://127.0.0.1:${blenderPort}`, { connections: 4, keepAliveTimeout: 1000 });
  billing = await startBillingProcess([
    '--zk-root',
    root,
    '--data-dir',
    join(tmp, 'billing'),
    ...topicFlags(t),
  ]);
  reports = await startReportsProcess(join(tmp, 'reports'), rt, root);
  await waitFor(
    async () => {
      const res = await blender.request({ method: 'GET', path: '/v1/ads?q=probe' });
      const body = (await res.body.json()) as Partial<Answer>;
      return res.statusCode === 200 && body.coverage?.answered === COLUMNS;
    },
    { what: 'the chain to answer through the blender', timeoutMs: 120_000 },
  );
}, 300_000);

afterAll(async () => {
  await blender?.close();
  await pvConsumer?.disconnect();
  await admin?.disconnect();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function ads(q: string): Promise<Answer> {
  const res = await blender.request({ method: 'GET', path: `/v1/ads?q=${encodeURIComponent(q)}&n=5` });
  const body = (await res.body.json()) as Answer;
  if (res.statusCode !== 200) throw new Error(`blender ${res.statusCode}: ${JSON.stringify(body)}`);
  return body;
}

const token = (ad: Ad) => ad.clickUrl.slice(clickBase.length + 3);
let ipSeq = 0;
const freshIp = () => {
  ipSeq++;
  return `198.51.${100 + Math.floor(ipSeq / 250)}.${(ipSeq % 250) + 1}`;
};

/** Queries `from..to` of the log and clicks on what they show: valid, replayed, crawler, no UA. */
async function traffic(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const a = await ads(queries[i % queries.length]!);
    const [first, second, third] = a.ads;
    if (first) {
      const ip = freshIp();
      expect((await click(cf, token(first), BROWSER, { 'x-forwarded-for': ip })).status).toBe(302);
      // Every third: the same user clicks again (decided "duplicate", never billed twice).
      if (i % 3 === 0)
        expect((await click(cf, token(first), BROWSER, { 'x-forwarded-for': ip })).status).toBe(302);
    }
    if (second && i % 2 === 0)
      expect((await click(cf, token(second), CRAWLER, { 'x-forwarded-for': freshIp() })).status).toBe(302);
    if (third && i % 5 === 0)
      expect((await click(cf, token(third), null, { 'x-forwarded-for': freshIp() })).status).toBe(302);
  }
}

async function reportOf(url: string, customerId: string, day: string): Promise<CustomerDay> {
  const res = await request(`${url}/v1/reports/customers/${encodeURIComponent(customerId)}?day=${day}`);
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as CustomerDay;
}

async function positionsOf(url: string) {
  const res = await request(`${url}/v1/positions`);
  return (
    (await res.body.json()) as { positions: { topic: string; partition: number; nextOffset: string }[] }
  ).positions;
}

/** Waits until reports and billing have consumed every topic to its current end. */
async function bothCaughtUp(url: string): Promise<void> {
  const ends = await topicEnds(admin, [rt.pv, t.clicks, t.settlement, t.corrections]);
  const billingEnds = new Map(
    [...ends].filter(([k]) => !k.startsWith(`${rt.pv}:`) && !k.startsWith(`${t.clicks}:`)),
  );
  await waitFor(async () => caughtUp(await positionsOf(url), ends), {
    what: 'reports to reach the end of every topic',
    timeoutMs: 60_000,
  });
  await waitFor(
    async () =>
      caughtUp(
        (
          await getJson<{ positions: { topic: string; partition: number; nextOffset: string }[] }>(
            billing,
            '/v1/totals',
          )
        ).body.positions,
        billingEnds,
      ),
    { what: 'billing to reach the end of settlement and corrections', timeoutMs: 60_000 },
  );
}

/**
 * The registration of the running `reports` process: found by its URL among the nodes under
 * services/reports (a killed run's node may still be there until its session expires), named by
 * its id, written by this process, and the URL answers /readyz.
 */
async function registrationOf(zk: ZkClient, running: ReportsProcess): Promise<ReportsRegistration> {
  const nodes = await reportsRegistrations(zk, root);
  const mine = [...nodes].filter(([, r]) => r.url === running.url);
  expect(
    mine.map(([, r]) => r.url),
    `a node with ${running.url} among ${[...nodes.keys()]}`,
  ).toEqual([running.url]);
  const [name, r] = mine[0]!;
  expect(r.id).toBe(name);
  expect(r.pid).toBe(running.proc.pid);
  expect(r.dbId).toMatch(/^\S+$/);
  const ready = await request(`${r.url}/readyz`);
  await ready.body.dump();
  expect(ready.statusCode).toBe(200);
  return r;
}

describe('reports exact to the ledger', () => {
  it('equal billing, the pv records and the click decisions after a kill -9 mid-stream and a correction run', async () => {
    const zk = await testZk();
    const registered = await registrationOf(zk, reports);
    expect([...(await reportsRegistrations(zk, root)).keys()]).toEqual([registered.id]);
    await traffic(0, 25);
    await waitFor(
      async () => {
        const live = (await (await request(`${reports.url}/v1/live`)).body.json()) as {
          today: { queries: number };
        };
        return live.today.queries > 0;
      },
      { what: 'reports to store the first page views' },
    );
    // Kill -9 while the stream goes on; restart on the same database.
    const more = traffic(25, 50);
    await reports.proc.stop('SIGKILL');
    await more;
    reports = await startReportsProcess(join(tmp, 'reports'), rt, root);
    // The new run registers at once, on the same database (the killed run's node lingers until its
    // ZooKeeper session expires).
    expect((await registrationOf(zk, reports)).dbId).toBe(registered.dbId);
    // A user who clicks four ads from one address (under every per-minute limit), refunded by the
    // hourly correction as a burst.
    const burstIp = '203.0.113.77';
    let burst = 0;
    for (let i = 50; burst < 4 && i < queries.length; i++) {
      const ad = (await ads(queries[i]!)).ads[0];
      if (!ad) continue;
      expect((await click(cf, token(ad), BROWSER, { 'x-forwarded-for': burstIp })).status).toBe(302);
      burst++;
    }
    expect(burst).toBe(4);
    await waitFor(() => seen.decisions.filter((d) => d.ip === burstIp).length === 4, {
      what: 'the burst decisions',
    });
    const hours = [...new Set(seen.decisions.map((d) => hourOf(d.clickedAtMs).label))];
    for (const hour of hours) {
      const job = spawnImatch([
        'correct-clicks',
        '--hour',
        hour,
        '--burst-user-max',
        '3',
        '--burst-ip-max',
        '1000',
        '--zk-connect',
        zkConnect(),
        '--zk-root',
        root,
        '--kafka-brokers',
        kafkaBrokers().join(','),
        '--log-level',
        'warn',
        ...topicFlags(t),
      ]);
      expect(await job.exited, job.output()).toBe(0);
    }
    await waitFor(() => seen.refunds.length >= 4, { what: 'the burst refunds in Kafka' });

    await bothCaughtUp(reports.url);

    // What the topics say, per customer and day (decisions once per decision id, charges once per click id).
    const expected = new Map<
      string,
      { impressions: number; decisions: Record<string, number>; clicks: Set<string> }
    >();
    const slot = (customerId: string, day: string) => {
      const k = `${customerId}\u0000${day}`;
      let s = expected.get(k);
      if (!s) {
        s = { impressions: 0, decisions: {}, clicks: new Set() };
        expected.set(k, s);
      }
      return s;
    };
    const pvIds = new Set<string>();
    for (const p of pvs) {
      if (pvIds.has(p.pvId)) continue;
      pvIds.add(p.pvId);
      for (const ad of p.ads) slot(ad.customerId, dayOf(p.timeMs, 'UTC')).impressions++;
    }
    const decisionIds = new Set<string>();
    for (const d of seen.decisions) {
      if (decisionIds.has(d.decisionId)) continue;
      decisionIds.add(d.decisionId);
      const s = slot(d.customerId, dayOf(d.clickedAtMs, 'UTC'));
      s.decisions[d.reason] = (s.decisions[d.reason] ?? 0) + 1;
    }
    for (const st of seen.settlements)
      slot(st.customerId, dayOf(st.clickedAtMs, 'UTC')).clicks.add(st.clickId);
    const reasons = new Set(seen.decisions.map((d) => d.reason));
    expect([...reasons].sort()).toEqual(['bot', 'duplicate', 'no-user-agent', 'ok']);
    expect(seen.refunds.some((r) => r.reason === 'burst-user')).toBe(true);

    let refundedSomewhere = false;
    const before = new Map<string, CustomerDay>();
    for (const [k, e] of expected) {
      const [customerId, day] = k.split('\u0000') as [string, string];
      const r = await reportOf(reports.url, customerId, day);
      before.set(k, r);
      expect(r.impressions, `impressions of ${customerId}`).toBe(e.impressions);
      expect(r.decisionsByReason, `decisions of ${customerId}`).toEqual(e.decisions);
      expect(r.clicks, `charged clicks of ${customerId}`).toBe(e.clicks.size);
      const { ok: _ok, ...invalid } = e.decisions;
      expect(r.invalidByReason).toEqual(invalid);
      if (e.clicks.size > 0) {
        const spend = await getJson<{ netMicros: number; chargedMicros: number; refundedMicros: number }>(
          billing,
          `/v1/spend?customer=${encodeURIComponent(customerId)}&day=${day}`,
        );
        expect(spend.status).toBe(200);
        expect(r.costMicros, `cost of ${customerId}`).toBe(spend.body.netMicros);
        expect(r.chargedMicros).toBe(spend.body.chargedMicros);
        expect(r.refundedMicros).toBe(spend.body.refundedMicros);
        if (r.refundedMicros > 0) refundedSomewhere = true;
      } else expect(r.costMicros).toBe(0);
    }
    expect(refundedSomewhere).toBe(true);

    // The daily run prints the same numbers.
    const day = dayOf(Date.now(), 'UTC');
    const cli = spawnImatch(['report', '--url', reports.url, '--day', day, '--json', '--log-level', 'warn']);
    expect(await cli.exited, cli.output()).toBe(0);
    // The report is stdout alone (log lines and warnings go to stderr), read to its end: a
    // process's exit can be seen before its last stdout chunk.
    const out = cli.child.stdout!;
    if (!out.readableEnded) await once(out, 'end');
    let printed: { customers: CustomerDay[] };
    try {
      printed = JSON.parse(cli.stdout().trim()) as { customers: CustomerDay[] };
    } catch (err) {
      throw new Error(`imatch report --json did not print one JSON document: ${err}\n${cli.output()}`);
    }
    for (const c of printed.customers) {
      const b = before.get(`${c.customerId}\u0000${day}`);
      expect(b, c.customerId).toBeDefined();
      expect({ impressions: c.impressions, clicks: c.clicks, costMicros: c.costMicros }).toEqual({
        impressions: b!.impressions,
        clicks: b!.clicks,
        costMicros: b!.costMicros,
      });
    }

    // A graceful restart changes no number; the stopped run's node is gone before it exits.
    const stopped = await registrationOf(zk, reports);
    expect(await reports.proc.stop('SIGTERM')).toBe(0);
    expect([...(await reportsRegistrations(zk, root)).values()].map((r) => r.url)).not.toContain(stopped.url);
    reports = await startReportsProcess(join(tmp, 'reports'), rt, root);
    expect((await registrationOf(zk, reports)).dbId).toBe(registered.dbId);
    await bothCaughtUp(reports.url);
    for (const [k, b] of before) {
      const [customerId, d] = k.split('\u0000') as [string, string];
      expect(await reportOf(reports.url, customerId, d)).toEqual(b);
    }

    // The last stop leaves no reports node behind (the killed run's session has expired by now).
    const last = await registrationOf(zk, reports);
    expect(await reports.proc.stop('SIGTERM')).toBe(0);
    expect(reports.proc.output()).toContain('reports stopped');
    await waitFor(async () => (await reportsRegistrations(zk, root)).size === 0, {
      what: `no node under services/reports after ${last.id} stopped`,
      timeoutMs: 30_000,
    });
  });
});
