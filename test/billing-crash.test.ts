// Billing killed with SIGKILL in the middle of a click stream, twice, and restarted on the same
// ledger: afterwards the ledger's total must equal exactly the sum of the billable prices (each
// click id once) minus the refunds, as recorded in Kafka. Real click-filter and billing processes,
// real ZooKeeper and Kafka; refunds come from a real `imatch correct-clicks` run (a bursting
// address) that billing also consumes across a kill.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hourOf } from '../click-filter/correction/hour.js';
import {
  BROWSER,
  type Collected,
  CRAWLER,
  click,
  collect,
  getJson,
  mint,
  newKeyring,
  type Service,
  startBillingProcess,
  startClickFilterProcess,
  topicFlags,
} from './click-support.js';
import { kafkaBrokers, spawnImatch, uniqueTopic, uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';

const CLICKS = 600;
const ATTACKER = '203.0.113.66';
let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Totals {
  chargedMicros: number;
  refundedMicros: number;
  clicks: number;
  refunds: number;
  netMicros: number;
}

/** What the topics say the ledger must hold. */
function expectedTotals(seen: Collected): {
  charged: number;
  refunded: number;
  clicks: number;
  refunds: number;
} {
  const price = new Map<string, number>();
  for (const s of seen.settlements) if (!price.has(s.clickId)) price.set(s.clickId, s.priceMicros);
  const refunded = new Map<string, number>();
  for (const r of seen.refunds) {
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

describe('billing crash safety', () => {
  it('after kill -9 and restart mid-stream, the ledger holds exactly the billable prices minus the refunds', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'imatch-billing-crash-'));
    const t = {
      clicks: uniqueTopic('clicks'),
      settlement: uniqueTopic('settlement'),
      corrections: uniqueTopic('corrections'),
      changes: uniqueTopic('changes'),
    };
    const root = uniqueZkRoot('billing-crash');
    const { ring, flag } = newKeyring();
    const seen = await collect(t);
    const cf = await startClickFilterProcess([
      '--zk-root',
      root,
      '--click-keys',
      flag,
      '--min-delay-after-pv-ms',
      '0',
      '--user-rate-max',
      '0',
      '--ip-rate-max',
      '0',
      '--trust-proxy',
      'true',
      ...topicFlags(t),
    ]);
    const billingArgs = [
      '--zk-root',
      root,
      '--data-dir',
      join(tmp, 'billing'),
      '--max-batch',
      '20',
      ...topicFlags(t),
    ];
    let billing: Service = await startBillingProcess(billingArgs);

    const tokens: string[] = [];
    let genuine = 0;
    const one = async (i: number) => {
      const kind = i % 10;
      const ip = i % 7 === 0 ? ATTACKER : `198.51.100.${i % 200}`;
      let token: string;
      let ua = BROWSER;
      if (kind === 3 && tokens.length > 0)
        token = tokens[(i * 7919) % tokens.length]!; // a replay
      else {
        token = mint(ring, {
          priceMicros: 10_000 * (1 + (i % 37)),
          customerId: `c${i % 5}`,
          position: 1 + (i % 4),
        }).token;
        tokens.push(token);
        if (kind === 5) ua = CRAWLER;
      }
      if (kind === 7) {
        const bad = `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
        const res = await click(cf, bad, ua, { 'x-forwarded-for': ip });
        expect(res.status).toBe(400);
        return;
      }
      const res = await click(cf, token, ua, { 'x-forwarded-for': ip });
      expect(res.status).toBe(302);
      genuine++;
    };
    const run = async (from: number, to: number) => {
      for (let i = from; i < to; i += 8)
        await Promise.all(Array.from({ length: Math.min(8, to - i) }, (_, k) => one(i + k)));
    };

    await run(0, CLICKS / 3);
    await waitFor(async () => (await getJson<Totals>(billing, '/v1/totals')).body.clicks > 0, {
      what: 'billing to charge',
    });
    expect(await billing.proc.stop('SIGKILL')).toBe('SIGKILL');
    await run(CLICKS / 3, (2 * CLICKS) / 3);
    billing = await startBillingProcess(billingArgs);
    await run((2 * CLICKS) / 3, CLICKS);
    await waitFor(() => seen.decisions.length === genuine, { what: 'every genuine click decided' });

    // Refunds: the attacker's address made far more clicks than the burst limit.
    const hours = [...new Set(seen.decisions.map((d) => hourOf(d.clickedAtMs).label))];
    for (const hour of hours) {
      const job = spawnImatch([
        'correct-clicks',
        '--hour',
        hour,
        '--burst-ip-max',
        '20',
        '--burst-user-max',
        '0',
        '--zk-connect',
        zkConnect(),
        '--zk-root',
        root,
        '--kafka-brokers',
        kafkaBrokers().join(','),
        ...topicFlags(t),
      ]);
      expect(await job.exited, job.output()).toBe(0);
    }
    await waitFor(() => seen.refunds.length > 0, { what: 'refunds in the corrections topic' });
    expect(seen.refunds.every((r) => r.reason === 'burst-ip')).toBe(true);
    // Kill billing again while it applies them, then restart.
    expect(await billing.proc.stop('SIGKILL')).toBe('SIGKILL');
    billing = await startBillingProcess(billingArgs);

    const want = expectedTotals(seen);
    expect(want.clicks).toBeGreaterThan(200);
    expect(want.refunds).toBeGreaterThan(10);
    const got = await waitFor(
      async () => {
        const b = (await getJson<Totals>(billing, '/v1/totals')).body;
        return b.clicks === want.clicks && b.refunds === want.refunds ? b : undefined;
      },
      { what: 'billing to catch up', timeoutMs: 60_000 },
    );
    expect(got).toMatchObject({
      chargedMicros: want.charged,
      refundedMicros: want.refunded,
      netMicros: want.charged - want.refunded,
    });
    // The CLI reads the same ledger (read-only, while billing runs) and agrees with the HTTP report.
    for (const customer of ['c0', 'c3']) {
      const http = (await getJson<Record<string, unknown>>(billing, `/v1/spend?customer=${customer}`)).body;
      const cli = spawnImatch([
        'spend',
        '--customer',
        customer,
        '--ledger-dir',
        join(tmp, 'billing', 'billing', 'ledger'),
        '--json',
      ]);
      expect(await cli.exited, cli.output()).toBe(0);
      expect(JSON.parse(cli.output().trim())).toEqual(http);
    }
    const unknown = spawnImatch([
      'spend',
      '--customer',
      'nobody',
      '--ledger-dir',
      join(tmp, 'billing', 'billing', 'ledger'),
    ]);
    expect(await unknown.exited).toBe(3);
    // And it stays there: nothing is charged twice once caught up.
    await billing.proc.stop('SIGTERM');
    billing = await startBillingProcess(billingArgs);
    expect((await getJson<Totals>(billing, '/v1/totals')).body).toMatchObject({
      chargedMicros: want.charged,
      refundedMicros: want.refunded,
    });
  });
});
