// The hourly correction against real processes: two click-filter instances both bill the same
// click (same click id: billing charges it once), a user bursts across the hour, and
// `imatch correct-clicks` re-reads the hour from Kafka, writes a duplicate refund and burst refunds,
// and adds nothing when run again. Billing applies each refund once; the duplicate refund moves
// no money because the extra settlement was never charged, so the ledger equals both "charged
// once per click id minus refunds" and "sum of settlement records minus sum of refunds".
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hourOf } from '../click-filter/correction/hour.js';
import {
  BROWSER,
  click,
  collect,
  getJson,
  mint,
  newKeyring,
  startBillingProcess,
  startClickFilterProcess,
  topicFlags,
} from './click-support.js';
import { kafkaBrokers, spawnImatch, uniqueTopic, uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';

let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Summary {
  hour: string;
  decisions: number;
  refunds: number;
  written: number;
  alreadyWritten: number;
  byReason: Record<string, number>;
}

describe('hourly click correction', () => {
  it('refunds what one instance could not see, once, and billing applies it once', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'imatch-correction-'));
    const t = {
      clicks: uniqueTopic('clicks'),
      settlement: uniqueTopic('settlement'),
      corrections: uniqueTopic('corrections'),
      changes: uniqueTopic('changes'),
    };
    const root = uniqueZkRoot('correction');
    const { ring, flag } = newKeyring();
    const seen = await collect(t);
    const args = [
      '--zk-root',
      root,
      '--click-keys',
      flag,
      '--min-delay-after-pv-ms',
      '0',
      '--trust-proxy',
      'true',
      ...topicFlags(t),
    ];
    const [a, b] = await Promise.all([
      startClickFilterProcess([...args, '--id', 'cf-a']),
      startClickFilterProcess([...args, '--id', 'cf-b']),
    ]);
    const billing = await startBillingProcess([
      '--zk-root',
      root,
      '--data-dir',
      join(tmp, 'billing'),
      ...topicFlags(t),
    ]);

    // One click, seen by both instances (each bills it: neither knows the other saw it).
    const shared = mint(ring, { priceMicros: 400_000, bidMicros: 500_000 });
    expect((await click(a, shared.token, BROWSER, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(302);
    expect((await click(b, shared.token, BROWSER, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(302);
    // A user clicking 6 ads from 6 addresses (under every per-minute limit of one instance).
    const digest = 'feedfacecafebeef';
    for (let i = 0; i < 6; i++) {
      const m = mint(ring, { priceMicros: 50_000, clientDigest: digest });
      const via = i % 2 === 0 ? a : b;
      expect((await click(via, m.token, BROWSER, { 'x-forwarded-for': `192.0.2.${10 + i}` })).status).toBe(
        302,
      );
    }
    // Ordinary clicks.
    for (let i = 0; i < 4; i++) {
      const m = mint(ring, { priceMicros: 70_000 });
      expect((await click(a, m.token, BROWSER, { 'x-forwarded-for': `198.51.100.${50 + i}` })).status).toBe(
        302,
      );
    }
    await waitFor(() => seen.decisions.length === 12, { what: 'twelve decisions' });
    await waitFor(() => seen.settlements.length === 12, { what: 'twelve settlement records' });
    await waitFor(async () => (await getJson<{ clicks: number }>(billing, '/v1/totals')).body.clicks === 11, {
      what: 'billing to charge eleven click ids',
    });
    expect((await getJson<{ chargedMicros: number }>(billing, '/v1/totals')).body.chargedMicros).toBe(
      400_000 + 300_000 + 280_000,
    );

    const hours = [...new Set(seen.decisions.map((d) => hourOf(d.clickedAtMs).label))];
    const correct = async (hour: string): Promise<Summary> => {
      const job = spawnImatch([
        'correct-clicks',
        '--hour',
        hour,
        '--burst-user-max',
        '5',
        '--burst-ip-max',
        '0',
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
      return JSON.parse(
        job
          .output()
          .split('\n')
          .find((l) => l.startsWith('{"hour"'))!,
      ) as Summary;
    };
    const first = await Promise.all(hours.map(correct));
    const total = (k: 'refunds' | 'written' | 'alreadyWritten', s: Summary[]) =>
      s.reduce((n, x) => n + x[k], 0);
    expect(total('written', first)).toBe(7);
    const reasons = first.reduce<Record<string, number>>((acc, s) => {
      for (const [r, n] of Object.entries(s.byReason)) acc[r] = (acc[r] ?? 0) + n;
      return acc;
    }, {});
    expect(reasons).toEqual({ duplicate: 1, 'burst-user': 6, 'burst-ip': 0, 'blocked-ip': 0 });
    await waitFor(() => seen.refunds.length === 7, { what: 'seven refunds in Kafka' });

    const again = await Promise.all(hours.map(correct));
    expect(total('written', again)).toBe(0);
    expect(total('alreadyWritten', again)).toBe(7);

    const net = await waitFor(
      async () => {
        const body = (
          await getJson<{ refunds: number; netMicros: number; refundedMicros: number }>(billing, '/v1/totals')
        ).body;
        return body.refunds === 6 ? body : undefined;
      },
      { what: 'billing to apply the refunds' },
    );
    expect(net.refundedMicros).toBe(300_000);
    expect(net.netMicros).toBe(400_000 + 280_000);
    const naive =
      seen.settlements.reduce((n, s) => n + s.priceMicros, 0) -
      seen.refunds.reduce((n, r) => n + r.amountMicros, 0);
    expect(naive).toBe(net.netMicros);
    await Promise.all([a.proc.stop(), b.proc.stop()]);
  });
});
