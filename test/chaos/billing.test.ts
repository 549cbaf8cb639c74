// Scenario "billing": about 500 clicks/s on a click filter (its own host) while billing (its own
// host) charges them. Faults: the Kafka leader of the settlement partition is killed (kill -9,
// restarted later) and billing is cut from all three brokers for 10 s. Afterwards a real
// `imatch correct-clicks` run refunds a bursting address. Invariants: every genuine click is
// redirected; every settlement is a click we made, at the price in its token; the ledger holds
// exactly the billable prices (each click id once) minus the refunds, as the topics record them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hourOf } from '../../click-filter/correction/hour.js';
import type { ClickDecision, Refund, Settlement } from '../../core/click-records.js';
import { createKeyring } from '../../core/click-token.js';
import { BROWSER, mint } from '../click-support.js';
import { waitFor } from '../helpers/wait.js';
import { Cluster } from './support/cluster.js';
import { CLICK_KEYS, CLICK_SECRET, Engine, type Service } from './support/engine.js';
import { FaultLog, type Invariant, report } from './support/history.js';
import { KAFKA_HOSTS } from './support/hosts.js';
import { readTopic } from './support/topic.js';

const RATE = 500;
const SECONDS = 30;
const ATTACKER = '203.0.113.66';

const cluster = new Cluster(inject('chaos'));
const net = cluster.net;
let tmp: string;
let engine: Engine;
let clickFilter: Service;
let billing: Service;
const ring = createKeyring(new Map([[1, CLICK_SECRET]]), 1);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-chaos-billing-'));
  engine = new Engine(cluster, 'billing', tmp);
  await engine.createTopics();
  clickFilter = await engine.start(
    'click',
    'click-filter',
    [
      ...engine.common(),
      '--click-keys',
      CLICK_KEYS,
      '--click-key-id',
      '1',
      '--min-delay-after-pv-ms',
      '0',
      '--user-rate-max',
      '0',
      '--ip-rate-max',
      '0',
      '--trust-proxy',
      'true',
    ],
    8081,
  );
  billing = await engine.start(
    'billing',
    'billing',
    [...engine.common(), '--max-batch', '50', '--budget-tick-ms', '500'],
    8084,
  );
}, 300_000);

afterAll(async () => {
  await engine?.saveLogs();
  await net.heal();
  for (const h of KAFKA_HOSTS) if ((await cluster.pid(h)) === null) await cluster.start(h);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

interface Totals {
  chargedMicros: number;
  refundedMicros: number;
  clicks: number;
  refunds: number;
  netMicros: number;
}

/** What the topics say the ledger must hold (test/billing-crash.test.ts, same rules). */
function expectedTotals(settlements: Settlement[], refunds: Refund[]) {
  const price = new Map<string, number>();
  for (const s of settlements) if (!price.has(s.clickId)) price.set(s.clickId, s.priceMicros);
  const refunded = new Map<string, number>();
  for (const r of refunds) {
    if (r.reason === 'duplicate') continue; // the extra settlement was never charged
    const charged = price.get(r.clickId) ?? 0;
    refunded.set(r.clickId, Math.min(charged, (refunded.get(r.clickId) ?? 0) + r.amountMicros));
  }
  let charged = 0;
  for (const p of price.values()) charged += p;
  let refund = 0;
  for (const r of refunded.values()) refund += r;
  return {
    charged,
    refunded: refund,
    clicks: price.size,
    refunds: [...refunded.values()].filter((v) => v > 0).length,
  };
}

describe('chaos: clicks and billing', () => {
  it('under 500 clicks/s, a killed broker and billing cut from Kafka, the ledger is exact and each click charged once', async () => {
    const faults = new FaultLog();
    const pool = new Pool(clickFilter.url, { connections: 64, keepAliveTimeout: 2000 });
    const issued = new Map<string, number>(); // pvId -> token price
    const statuses = new Map<number | string, number>();
    let sent = 0;
    const one = async (i: number) => {
      const priceMicros = 10_000 * (1 + (i % 29)); // below the token's bid (300,000)
      const { token, payload } = mint(ring, {
        priceMicros,
        customerId: `c${i % 5}`,
        position: 1 + (i % 4),
      });
      issued.set(payload.pvId, priceMicros);
      const ip = i % 9 === 0 ? ATTACKER : `198.51.100.${i % 200}`;
      let status: number | string;
      try {
        const res = await pool.request({
          method: 'GET',
          path: `/c/${token}`,
          headers: { 'user-agent': BROWSER, 'x-forwarded-for': ip },
        });
        await res.body.dump();
        status = res.statusCode;
      } catch (err) {
        status = (err as { code?: string }).code ?? 'error';
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    };
    const inflight = new Set<Promise<void>>();
    const t0 = Date.now();
    const load = (async () => {
      // 50 clicks every 100 ms.
      for (let tick = 0; tick < SECONDS * 10; tick++) {
        for (let k = 0; k < RATE / 10; k++) {
          const p = one(sent++);
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
        }
        const wait = t0 + (tick + 1) * 100 - Date.now();
        if (wait > 0) await sleep(wait);
      }
      await Promise.all(inflight);
    })();

    await sleep(5000);
    const { leader } = await cluster.partitionLeader(engine.topics.settlement);
    await cluster.kill(leader);
    faults.add(`kill -9 ${leader} (settlement leader)`);
    await sleep(3000);
    await net.partition('billing', [...KAFKA_HOSTS], 'both');
    faults.add('partition billing x kafka');
    await sleep(10_000);
    await net.heal(['billing']);
    faults.add('heal billing');
    await cluster.start(leader);
    faults.add(`restart ${leader}`);
    await load;
    await pool.close();
    const rate = Math.round(sent / ((Date.now() - t0) / 1000));

    // Refunds: the attacker's address (every 9th click, ~1,700) clicked far more than the burst
    // limit of 500 an hour; the 200 others made ~75 each.
    const decisions = await waitFor(
      async () => {
        const d = await readTopic<ClickDecision>(cluster, engine.topics.clicks);
        return d.length >= (statuses.get(302) ?? 0) ? d : undefined;
      },
      { what: 'a decision for every redirected click', timeoutMs: 120_000, intervalMs: 2000 },
    ).catch(() => readTopic<ClickDecision>(cluster, engine.topics.clicks));
    const hours = [...new Set(decisions.map((d) => hourOf(d.clickedAtMs).label))];
    for (const hour of hours) {
      const job = engine.spawn('click', [
        'correct-clicks',
        '--hour',
        hour,
        '--burst-ip-max',
        '500',
        '--burst-user-max',
        '0',
        ...engine.common(),
      ]);
      expect(await job.exited, job.output().slice(-2000)).toBe(0);
    }
    faults.add('correct-clicks');

    // A click's decision and settlement go out in one produce request, but to two partitions whose
    // leaders may differ: after the broker kill one part can land later. Read until every billable
    // decision's settlement is there (or the wait ends: the invariant below then says what is missing).
    const billable = new Set(decisions.filter((d) => d.billable).map((d) => d.clickId)).size;
    const settlements = await waitFor(
      async () => {
        const all = await readTopic<Settlement>(cluster, engine.topics.settlement);
        return new Set(all.map((x) => x.clickId)).size >= billable ? all : undefined;
      },
      { what: 'a settlement for every billable decision', timeoutMs: 60_000, intervalMs: 2000 },
    ).catch(() => readTopic<Settlement>(cluster, engine.topics.settlement));
    const refunds = await readTopic<Refund>(cluster, engine.topics.corrections);
    const want = expectedTotals(settlements, refunds);
    const totalsOf = async () => {
      const res = await fetch(`${billing.url}/v1/totals`);
      return (await res.json()) as Totals;
    };
    const got = await waitFor(
      async () => {
        const b = await totalsOf();
        return b.clicks === want.clicks && b.refunds === want.refunds ? b : undefined;
      },
      { what: 'billing to catch up with the topics', timeoutMs: 120_000, intervalMs: 500 },
    ).catch(() => totalsOf());

    const invariants: Invariant[] = [];
    const redirected = statuses.get(302) ?? 0;
    invariants.push({
      name: 'every genuine click redirected',
      broken:
        redirected === sent
          ? null
          : `${sent - redirected} of ${sent} clicks: ${JSON.stringify([...statuses])}`,
    });
    const decided = new Set(decisions.map((d) => d.clickId)).size;
    invariants.push({
      name: 'every redirected click has its decision in Kafka',
      broken:
        decided >= redirected
          ? null
          : `${redirected - decided} of ${redirected} redirected clicks have no decision`,
    });
    // Every billable decision goes to Kafka in the same produce request as its settlement.
    const settled = new Set(settlements.map((x) => x.clickId));
    const unsettled = decisions.filter((d) => d.billable && !settled.has(d.clickId));
    invariants.push({
      name: 'every billable decision has its settlement',
      broken:
        unsettled.length === 0
          ? null
          : `${unsettled.length} billable clicks have no settlement, first ${unsettled[0]!.clickId} clicked ` +
            `${faults.at(performance.now() - (Date.now() - unsettled[0]!.clickedAtMs))}` +
            `, last ${faults.at(performance.now() - (Date.now() - unsettled.at(-1)!.clickedAtMs))}`,
    });
    const reasons = new Map<string, number>();
    for (const d of decisions) reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
    const foreign = settlements.find(
      (x) => issued.get(x.clickId.slice(0, x.clickId.lastIndexOf(':'))) !== x.priceMicros,
    );
    invariants.push({
      name: 'settlements are our clicks at their token price',
      broken: foreign === undefined ? null : `${s(foreign)}`,
    });
    invariants.push({
      name: 'ledger = billable prices - refunds, each click once',
      broken:
        got.chargedMicros === want.charged &&
        got.refundedMicros === want.refunded &&
        got.clicks === want.clicks &&
        got.refunds === want.refunds &&
        got.netMicros === want.charged - want.refunded
          ? null
          : `ledger ${JSON.stringify(got)}, topics say ${JSON.stringify(want)}`,
    });
    invariants.push({
      name: 'the faults hit real work',
      broken:
        want.clicks > 5000 && want.refunds > 10
          ? null
          : `only ${want.clicks} clicks, ${want.refunds} refunds`,
    });
    const broken = report({
      scenario: 'billing',
      operations:
        `${sent} clicks at ~${rate}/s (${redirected} redirected), ${decisions.length} decisions ` +
        `${JSON.stringify(Object.fromEntries(reasons))}, ${settlements.length} settlements, ` +
        `${want.clicks} billable clicks, ${want.refunds} refunds, net ${want.charged - want.refunded} micros`,
      faults: faults.entries,
      invariants,
    });
    expect(broken).toEqual([]);
  });
});

function s(x: Settlement): string {
  return `settlement of click ${x.clickId} at ${x.priceMicros} micros`;
}
