// The click filter as a real process against the real ZooKeeper and Kafka of the run: tokens are
// minted with the same codec the blender uses (test/billing-loop.test.ts runs the whole chain).
// Checks: genuine clicks redirect to exactly the token's landing URL and are logged with their
// decision (billable ones also as settlement records); a replay is logged but billed once; a
// crawler is redirected and not billed; a tampered or foreign-key token gets the 400 page with no
// Location and nothing is logged; the block list and thresholds in ZooKeeper apply while the
// process runs; the service registers, answers /readyz and /metrics, and stops cleanly on SIGTERM.
import { describe, expect, it } from 'vitest';
import { zkPaths } from '../core/zk-paths.js';
import {
  BROWSER,
  CRAWLER,
  click,
  collect,
  getJson,
  mint,
  newKeyring,
  startClickFilterProcess,
  topicFlags,
} from './click-support.js';
import { testZk, uniqueTopic, uniqueZkRoot, waitFor } from './helpers/index.js';

function topics() {
  return {
    clicks: uniqueTopic('clicks'),
    settlement: uniqueTopic('settlement'),
    corrections: uniqueTopic('corrections'),
    changes: uniqueTopic('changes'),
  };
}

describe('click filter (real process, real ZooKeeper and Kafka)', () => {
  it('redirects, logs every decision, bills a replay once, never bills a crawler, rejects tampered tokens', async () => {
    const t = topics();
    const root = uniqueZkRoot('cf');
    const { ring, flag } = newKeyring();
    const seen = await collect(t);
    const cf = await startClickFilterProcess([
      '--zk-root',
      root,
      '--click-keys',
      flag,
      '--min-delay-after-pv-ms',
      '1000',
      ...topicFlags(t),
    ]);

    const a = mint(ring, { landingUrl: 'https://shop.example/a?x=1&y=%C3%A9', priceMicros: 250_000 });
    const first = await click(cf, a.token);
    expect(first.status).toBe(302);
    expect(first.location).toBe('https://shop.example/a?x=1&y=%C3%A9');
    // Acknowledged means durable: the decision and the settlement record are in Kafka.
    await waitFor(() => seen.settlements.length === 1 && seen.decisions.length === 1, {
      what: 'first click in Kafka',
    });
    expect(seen.settlements[0]).toMatchObject({
      clickId: `${a.payload.pvId}:1`,
      customerId: 'c1',
      offerId: 'o1',
      bidwordId: 'b1',
      priceMicros: 250_000,
    });
    expect(seen.decisions[0]).toMatchObject({
      billable: true,
      reason: 'ok',
      clickId: `${a.payload.pvId}:1`,
      ip: '127.0.0.1',
    });

    const replay = await click(cf, a.token);
    expect(replay).toMatchObject({ status: 302, location: 'https://shop.example/a?x=1&y=%C3%A9' });

    const bot = mint(ring, { position: 2, landingUrl: 'https://shop.example/b' });
    expect(await click(cf, bot.token, CRAWLER)).toMatchObject({
      status: 302,
      location: 'https://shop.example/b',
    });
    const noUa = mint(ring, { position: 3 });
    expect((await click(cf, noUa.token, null)).status).toBe(302);
    const fast = mint(ring, { position: 4, issuedAtMs: Date.now() });
    expect((await click(cf, fast.token)).status).toBe(302);
    const old = mint(ring, { position: 5, issuedAtMs: Date.now() - 2 * 3_600_000 });
    expect((await click(cf, old.token)).status).toBe(302);

    const tampered = a.token.slice(0, 50) + (a.token[50] === 'Q' ? 'R' : 'Q') + a.token.slice(51);
    const bad = await click(cf, tampered);
    expect(bad.status).toBe(400);
    expect(bad.location).toBeUndefined();
    expect(bad.body).toContain('This link is not valid');
    const foreign = mint(newKeyring(9).ring);
    expect(await click(cf, foreign.token)).toMatchObject({ status: 400, location: undefined });

    await waitFor(() => seen.decisions.length === 6, { what: 'six decisions in Kafka' });
    expect(seen.decisions.map((d) => d.reason)).toEqual([
      'ok',
      'duplicate',
      'bot',
      'no-user-agent',
      'too-fast',
      'expired',
    ]);
    expect(seen.settlements).toHaveLength(1);

    const metrics = (await (await cf.pool.request({ method: 'GET', path: '/metrics' })).body.text()).split(
      '\n',
    );
    expect(metrics).toContain('imatch_click_bad_tokens_total{reason="auth-failed"} 1');
    expect(metrics).toContain('imatch_click_bad_tokens_total{reason="unknown-key"} 1');
    expect(metrics).toContain('imatch_click_decisions_total{reason="ok"} 1');
    expect((await getJson(cf, '/readyz')).status).toBe(200);

    const zk = await testZk();
    const regs = await zk.children(zkPaths(root).serviceKind('click-filter'));
    expect(regs).toHaveLength(1);

    expect(await cf.proc.stop('SIGTERM')).toBe(0);
    expect(cf.proc.output()).toContain('click-filter stopped');
    expect(await zk.children(zkPaths(root).serviceKind('click-filter'))).toEqual([]);
  });

  it('applies the block list and thresholds from ZooKeeper while running, and refuses a bad document', async () => {
    const t = topics();
    const root = uniqueZkRoot('cf-zk');
    const { ring, flag } = newKeyring();
    const seen = await collect(t);
    const zk = await testZk();
    const path = zkPaths(root).configClickFilter;
    const cf = await startClickFilterProcess([
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
    // Each click is a new page view; its pv id tells its decision apart.
    const fromIp = async (ip: string, ua = BROWSER) => {
      const m = mint(ring);
      const res = await click(cf, m.token, ua, { 'x-forwarded-for': ip });
      expect(res.status).toBe(302);
      return m.payload.pvId;
    };
    const reasonOf = (pvId: string) =>
      waitFor(() => seen.decisions.find((d) => d.pvId === pvId)?.reason, { what: `decision of ${pvId}` });

    expect(await reasonOf(await fromIp('203.0.113.10'))).toBe('ok');
    await zk.mkdirp(path);
    await zk.set(
      path,
      JSON.stringify({ blockedCidrs: ['203.0.113.0/24'], blockedUserAgents: ['EvilBrowser/\\d'] }),
    );
    // Applied at run time: poll with fresh clicks until one is rejected for the range.
    await waitFor(async () => (await reasonOf(await fromIp('203.0.113.10'))) === 'blocked-ip', {
      what: 'the block list to apply',
    });
    expect(await reasonOf(await fromIp('198.51.100.1', 'Mozilla/5.0 EvilBrowser/2'))).toBe(
      'blocked-user-agent',
    );
    expect(await reasonOf(await fromIp('198.51.100.2'))).toBe('ok');

    // A malformed document is refused whole; the block list in force stays.
    await zk.set(path, JSON.stringify({ blockedCidrs: ['not-a-range'], ipRateMax: 1 }));
    await waitFor(
      async () =>
        (await (await cf.pool.request({ method: 'GET', path: '/metrics' })).body.text()).includes(
          'imatch_click_settings_errors_total 1',
        ),
      {
        what: 'the bad document to be refused',
      },
    );
    expect(await reasonOf(await fromIp('203.0.113.77'))).toBe('blocked-ip');
    expect(await reasonOf(await fromIp('198.51.100.3'))).toBe('ok');

    // A per-address limit of 1 per minute, set at run time.
    await zk.set(path, JSON.stringify({ ipRateMax: 1, ipRateWindowMs: 60_000 }));
    await waitFor(async () => (await reasonOf(await fromIp('192.0.2.44'))) === 'ip-rate', {
      what: 'the address limit to apply',
    });
    // ...and the block list went back to the configured default (none): the range is billable again.
    expect(await reasonOf(await fromIp('203.0.113.78'))).toBe('ok');
  });
});
