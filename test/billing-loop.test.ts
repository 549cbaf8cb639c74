// The whole click and budget loop with real processes: `imatch gen` snapshot, `imatch
// build-index` (2 columns, published), two searchers with isupdate, a merger, a blender whose click
// URLs point at a real click filter, dispatch, and billing (customers seeded from the snapshot,
// changes through dispatch, test clock endpoint on). ZooKeeper and Kafka are the run's real servers.
//   1. query -> click URL -> 302 to exactly that offer's landing page -> settlement record -> the
//      ledger; the same URL again is billed once; a crawler is redirected and not billed; a
//      tampered URL gets 400 and no Location.
//   2. a customer whose daily budget is spent disappears from blender answers (billing sends
//      "offline" through dispatch, isupdate applies it), comes back when the BP raises its budget,
//      leaves again when the raised budget is spent, and comes back the next day (billing's clock
//      moved by a day through its test endpoint). The time from the click to the last
//      answer still showing the customer is printed (timings belong in benchmarks, not asserts).
//      While the customer is offline for budget (billing's change carries offlineReason budget),
//      every answer to its query records the customer's ad as lost to budget in the PV record
//      (searchers match it aside, the merger ranks it, the blender keeps those within n), and
//      `imatch reports` (on the same topics) counts exactly the PV records' lost ads for the day,
//      and the time offline for budget.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Customer, Offer } from '../core/model.js';
import {
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
import { ChangeClient, startDispatch, startIsSearcher, TEST_SECRET } from './helpers/incremental.js';
import {
  freePorts,
  kafkaBrokers,
  spawnImatch,
  uniqueTopic,
  uniqueZkRoot,
  waitFor,
  zkConnect,
} from './helpers/index.js';
import { buildIndexVersion, generateSnapshot } from './helpers/searcher-cluster.js';
import { startReportsProcess } from './reports-support.js';

const COLUMNS = 2;
const OFFERS = 2_000;

interface Ad {
  position: number;
  offerId: string;
  customerId: string;
  bidwordId: string;
  clickUrl: string;
  priceMicros: number;
}
interface Answer {
  requestId: string;
  ads: Ad[];
  coverage: { columns: number; answered: number };
}

let tmp: string;
let snapshotDir: string;
let blender: Pool;
let cf: Service;
let billing: Service;
let changes: ChangeClient;
let seen: Collected;
let clickBase: string;
let reportsUrl: string;
const offers = new Map<string, Offer>();
const customers = new Map<string, Customer>();
let queries: string[] = [];
const root = uniqueZkRoot('billing-loop');
const t = {
  clicks: uniqueTopic('clicks'),
  settlement: uniqueTopic('settlement'),
  corrections: uniqueTopic('corrections'),
  changes: uniqueTopic('changes'),
};
const topicPv = uniqueTopic('pv');

async function ads(q: string, n = 5): Promise<Answer> {
  const res = await blender.request({ method: 'GET', path: `/v1/ads?q=${encodeURIComponent(q)}&n=${n}` });
  const body = (await res.body.json()) as Answer;
  if (res.statusCode !== 200) throw new Error(`blender ${res.statusCode}: ${JSON.stringify(body)}`);
  return body;
}

function tokenOf(clickUrl: string): string {
  expect(clickUrl.startsWith(`${clickBase}/c/`)).toBe(true);
  return clickUrl.slice(clickBase.length + 3);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-billing-loop-'));
  snapshotDir = join(tmp, 'bp');
  await generateSnapshot(snapshotDir, OFFERS, 400, 'billing-loop');
  for (const line of (await readFile(join(snapshotDir, 'offers.jsonl'), 'utf8')).split('\n'))
    if (line.trim()) {
      const o = JSON.parse(line) as Offer;
      offers.set(o.id, o);
    }
  for (const line of (await readFile(join(snapshotDir, 'customers.jsonl'), 'utf8')).split('\n'))
    if (line.trim()) {
      const c = JSON.parse(line) as Customer;
      customers.set(c.id, c);
    }
  queries = [
    ...new Set(
      (await readFile(join(snapshotDir, 'queries.jsonl'), 'utf8'))
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => (JSON.parse(l) as { q: string }).q),
    ),
  ];

  const dispatch = await startDispatch(root, t.changes);
  changes = new ChangeClient(dispatch.url);
  await buildIndexVersion(snapshotDir, join(tmp, 'index'), COLUMNS, { zkRoot: root });
  await Promise.all(
    Array.from({ length: COLUMNS }, (_, column) =>
      startIsSearcher({
        zkRoot: root,
        topic: t.changes,
        column,
        replica: 'a',
        dataDir: join(tmp, `s${column}`),
        batch: 1,
      }),
    ),
  );
  const common = ['--zk-connect', zkConnect(), '--zk-root', root, '--log-level', 'warn'];
  spawnImatch(['merger', '--deadline-ms', '3000', '--attempt-timeout-ms', '2000', ...common]);

  const { flag } = newKeyring(4);
  const [cfPort, blenderPort] = (await freePorts(2)) as [number, number];
  clickBase = `http://127.0.0.1:${cfPort}`;
  seen = await collect(t, topicPv);
  cf = await startClickFilterProcess([
    '--port',
    String(cfPort),
    '--zk-root',
    root,
    '--click-keys',
    flag,
    // The test clicks right after the query; the too-fast rule has its own tests.
    '--min-delay-after-pv-ms',
    '0',
    ...topicFlags(t),
  ]);
  spawnImatch([
    'blender',
    '--port',
    String(blenderPort),
    '--kafka-brokers',
    kafkaBrokers().join(','),
    '--topic-pv',
    topicPv,
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
    '--snapshot-dir',
    snapshotDir,
    '--dispatch-secret',
    TEST_SECRET,
    '--test-clock-endpoint',
    'true',
    ...topicFlags(t),
  ]);
  reportsUrl = (await startReportsProcess(join(tmp, 'reports'), { pv: topicPv, ...t }, root)).url;
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
  await changes?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Queries (from the generated log) whose answers have ads, with their answers. */
async function answersWithAds(count: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const q of queries) {
    const a = await ads(q);
    if (a.ads.length > 0) out.push(a);
    if (out.length >= count) break;
  }
  expect(out.length).toBe(count);
  return out;
}

describe('the click and billing loop', () => {
  it('query, click, 302 to the landing page, settlement, ledger; replay billed once; crawler not billed; tampered 400', async () => {
    const [a1, a2] = await answersWithAds(2);
    const ad = a1!.ads[0]!;
    const res = await click(cf, tokenOf(ad.clickUrl));
    expect(res.status).toBe(302);
    expect(res.location).toBe(offers.get(ad.offerId)!.landingUrl);

    const clickId = `${a1!.requestId}:${ad.position}`;
    const settlement = await waitFor(() => seen.settlements.find((s) => s.clickId === clickId), {
      what: 'the settlement',
    });
    expect(settlement).toMatchObject({
      customerId: ad.customerId,
      offerId: ad.offerId,
      bidwordId: ad.bidwordId,
      priceMicros: ad.priceMicros,
    });
    const spent = await waitFor(
      async () => {
        const r = await getJson<{ chargedMicros: number; clicks: number }>(
          billing,
          `/v1/spend?customer=${ad.customerId}`,
        );
        return r.status === 200 && r.body.clicks === 1 ? r.body : undefined;
      },
      { what: 'the ledger to charge the click' },
    );
    expect(spent.chargedMicros).toBe(ad.priceMicros);

    // The same URL again: redirected, decided "duplicate", not charged again.
    expect(await click(cf, tokenOf(ad.clickUrl))).toMatchObject({
      status: 302,
      location: offers.get(ad.offerId)!.landingUrl,
    });
    await waitFor(() => seen.decisions.filter((d) => d.clickId === clickId).length === 2, {
      what: 'the replay decision',
    });
    expect(seen.decisions.filter((d) => d.clickId === clickId).map((d) => d.reason)).toEqual([
      'ok',
      'duplicate',
    ]);

    // A crawler: redirected, not billed.
    const other = a2!.ads[0]!;
    expect(await click(cf, tokenOf(other.clickUrl), CRAWLER)).toMatchObject({
      status: 302,
      location: offers.get(other.offerId)!.landingUrl,
    });
    const botId = `${a2!.requestId}:${other.position}`;
    expect((await waitFor(() => seen.decisions.find((d) => d.clickId === botId))).reason).toBe('bot');

    // A tampered URL: 400, no Location.
    const token = tokenOf(ad.clickUrl);
    const bad = await click(cf, `${token.slice(0, 20)}${token[20] === 'a' ? 'b' : 'a'}${token.slice(21)}`);
    expect(bad.status).toBe(400);
    expect(bad.location).toBeUndefined();

    // Only the one genuine browser click was settled, and the ledger holds it once.
    expect(seen.settlements.filter((s) => s.clickId === clickId || s.clickId === botId)).toHaveLength(1);
    const again = await getJson<{ chargedMicros: number; clicks: number }>(
      billing,
      `/v1/spend?customer=${ad.customerId}`,
    );
    expect(again.body).toMatchObject({ chargedMicros: ad.priceMicros, clicks: 1 });
  });

  it('a spent budget takes the customer out of answers; a budget raise and the next day bring it back', async () => {
    // A customer with ads for a query, not yet charged today.
    let query = '';
    let target: Ad | undefined;
    for (const q of queries) {
      const a = await ads(q, 10);
      const candidate = a.ads.find((x) => !seen.settlements.some((s) => s.customerId === x.customerId));
      if (candidate) {
        query = q;
        target = candidate;
        break;
      }
    }
    expect(target).toBeDefined();
    const customerId = target!.customerId;
    const entity = customers.get(customerId)!;
    // The BP lowers its daily budget to one click's price.
    const budget = target!.priceMicros;
    await changes.postUntilAccepted([
      { entity: 'customer', op: 'upsert', data: { ...entity, dailyBudgetMicros: budget } },
    ]);
    await waitFor(
      async () =>
        (await getJson<{ dailyBudgetMicros?: number }>(billing, `/v1/spend?customer=${customerId}`)).body
          .dailyBudgetMicros === budget,
      { what: 'billing to see the new budget' },
    );

    const fresh = (await ads(query, 10)).ads.find((x) => x.customerId === customerId);
    expect(fresh).toBeDefined();
    expect(fresh!.priceMicros).toBeGreaterThanOrEqual(budget); // one click spends the budget
    const clicked = Date.now();
    expect((await click(cf, tokenOf(fresh!.clickUrl))).status).toBe(302);

    let lastSeen = clicked;
    let polls = 0;
    const gone = await waitFor(
      async () => {
        const a = await ads(query, 10);
        polls++;
        if (a.ads.some((x) => x.customerId === customerId)) {
          lastSeen = Date.now();
          return false;
        }
        return Date.now();
      },
      { what: `customer ${customerId} to leave the answers`, timeoutMs: 30_000, intervalMs: 20 },
    );
    console.log(
      `budget spent -> ads gone: last answer with the customer ${lastSeen - clicked} ms, first without ${gone - clicked} ms after the click's 302 (${polls} polls)`,
    );
    // The answers can lose the customer before this test's own observer of the changes topic has
    // read billing's offline message: wait for the observer, with a deadline.
    const offline = await waitFor(
      () =>
        seen.changes.find(
          (c) => c.entity === 'customer' && c.data.id === customerId && c.data.status === 'offline',
        ),
      { what: `the changes topic observer to see customer ${customerId} offline` },
    );
    expect(offline.data).toMatchObject({
      ...entity,
      dailyBudgetMicros: budget,
      status: 'offline',
      offlineReason: 'budget',
    });
    const report = await getJson<{ heldForBudget: boolean; netMicros: number }>(
      billing,
      `/v1/spend?customer=${customerId}`,
    );
    expect(report.body).toMatchObject({ heldForBudget: true, netMicros: fresh!.priceMicros });

    // Queries while it is offline: each answer's PV record names the customer's ad as lost to
    // budget (it was in the answer to this query before), and the reports service counts exactly
    // the lost ads the PV records hold, with the time offline for budget.
    const offlineIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const a = await ads(query, 10);
      expect(a.ads.some((x) => x.customerId === customerId)).toBe(false);
      offlineIds.push(a.requestId);
    }
    const offlinePvs = await waitFor(
      () => {
        const found = seen.pvs.filter((p) => offlineIds.includes(p.pvId));
        return found.length === offlineIds.length ? found : undefined;
      },
      { what: 'the PV records of the queries while offline' },
    );
    for (const p of offlinePvs) {
      const lostAds = (p.lostToBudget ?? []).filter((l) => l.customerId === customerId);
      expect(lostAds.length, `pv ${p.pvId}`).toBeGreaterThan(0);
      for (const l of lostAds) expect(l.position).toBeLessThanOrEqual(10);
    }
    const day = new Date().toISOString().slice(0, 10);
    const lostInPvs = () =>
      seen.pvs
        .filter((p) => p.time.slice(0, 10) === day)
        .reduce(
          (sum, p) => sum + (p.lostToBudget ?? []).filter((l) => l.customerId === customerId).length,
          0,
        );
    const lost = await waitFor(
      async () => {
        const res = await request(`${reportsUrl}/v1/reports/customers/${customerId}?day=${day}`);
        const body = (await res.body.json()) as {
          offlineForBudgetMs?: number;
          impressionsLostToBudget?: number;
        };
        const expected = lostInPvs();
        // Both figures come from topics the reports service ingests on its own: the lost
        // impressions from the pv topic, the time offline from the customer's changes. Wait for both.
        return res.statusCode === 200 &&
          expected >= 30 &&
          body.impressionsLostToBudget === expected &&
          (body.offlineForBudgetMs ?? 0) > 0
          ? body
          : undefined;
      },
      {
        what: `the reports service to count the lost impressions of ${customerId} the PV records hold, and its time offline`,
        timeoutMs: 30_000,
      },
    );
    expect(lost.offlineForBudgetMs).toBeGreaterThan(0);

    // The BP raises the budget of the customer it sees offline (billing's offline entity with only
    // the budget changed): back in the answers; one more click spends the raised budget.
    const raised = fresh!.priceMicros + 10_000;
    await changes.postUntilAccepted([
      { entity: 'customer', op: 'upsert', data: { ...entity, status: 'offline', dailyBudgetMicros: raised } },
    ]);
    await waitFor(async () => (await ads(query, 10)).ads.some((x) => x.customerId === customerId), {
      what: `customer ${customerId} to come back after the budget raise`,
      timeoutMs: 30_000,
    });
    const back = await waitFor(
      () => {
        const last = seen.changes.filter((c) => c.entity === 'customer' && c.data.id === customerId).at(-1);
        return last?.data.status === 'online' ? last : undefined;
      },
      { what: `the changes topic observer to see customer ${customerId} online after the raise` },
    );
    expect(back.data).toMatchObject({ status: 'online', dailyBudgetMicros: raised });
    const second = (await ads(query, 10)).ads.find((x) => x.customerId === customerId)!;
    expect((await click(cf, tokenOf(second.clickUrl))).status).toBe(302);
    await waitFor(async () => !(await ads(query, 10)).ads.some((x) => x.customerId === customerId), {
      what: `customer ${customerId} to leave again`,
      timeoutMs: 30_000,
    });

    // The next day (billing's clock moved forward by 24 h): online again, ads back.
    const observedBeforeNextDay = seen.changes.length;
    const moved = await billing.pool.request({
      method: 'PUT',
      path: '/v1/test/clock',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ offsetMs: 24 * 3_600_000 }),
    });
    expect(moved.statusCode).toBe(200);
    await moved.body.text();
    await waitFor(async () => (await ads(query, 10)).ads.some((x) => x.customerId === customerId), {
      what: `customer ${customerId} to come back`,
      timeoutMs: 30_000,
    });
    const online = await waitFor(
      () => {
        // The customer is offline for budget since the second click: the next online is the new day's.
        const last = seen.changes
          .slice(observedBeforeNextDay)
          .filter((c) => c.entity === 'customer' && c.data.id === customerId)
          .at(-1);
        return last?.data.status === 'online' ? last : undefined;
      },
      { what: `the changes topic observer to see customer ${customerId} online on the next day` },
    );
    expect(online.data).toMatchObject({ status: 'online', dailyBudgetMicros: raised });
    expect(
      (await getJson<{ heldForBudget: boolean }>(billing, `/v1/spend?customer=${customerId}`)).body
        .heldForBudget,
    ).toBe(false);
  });
});
