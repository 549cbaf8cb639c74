import { describe, expect, it } from 'vitest';
import type { ClickDecision, Settlement } from '../core/click-records.js';
import { encodeClickToken } from '../core/click-token.js';
import { OffsetClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { buildApp, defaultSettings } from './app.js';
import { ClickFilterConfig } from './config.js';
import { DecisionLog } from './decision-log.js';
import { BROWSER_UA, payload, testKeyring } from './testing.js';

const ring = testKeyring();

function harness(flags: Record<string, unknown> = {}, opts: { failKafka?: boolean } = {}) {
  const config = loadConfig(ClickFilterConfig, {
    flags: { clickKeys: ['1:' + 'ab'.repeat(32)], minDelayAfterPvMs: 0, ...flags },
  });
  const written: { decision: ClickDecision; settlement: Settlement | undefined }[] = [];
  const decisions = new DecisionLog({
    send: async (batch) => {
      if (opts.failKafka) throw new Error('kafka down');
      const clicks = batch.find((t) => t.topic === 'clicks')?.messages ?? [];
      const settle = batch.find((t) => t.topic === 'settlement')?.messages ?? [];
      for (const m of clicks)
        written.push({
          decision: JSON.parse(m.value),
          settlement: settle.some((s) => s.key === m.key)
            ? JSON.parse(settle.find((s) => s.key === m.key)!.value)
            : undefined,
        });
    },
    clicksTopic: 'clicks',
    settlementTopic: 'settlement',
    maxBatch: 100,
    maxPending: 100,
    maxRetryMs: 60_000,
    now: Date.now,
    log: silentLogger(),
  });
  const clock = new OffsetClock();
  const { app } = buildApp(config, {
    log: silentLogger(),
    keyring: ring,
    clock,
    decisions,
    settings: { current: defaultSettings(config), loaded: true },
    instance: 'cf-1',
    processMetrics: false,
  });
  return { app, written, decisions, clock };
}

const genuine = (over = {}) => encodeClickToken(ring, payload({ issuedAtMs: Date.now() - 5_000, ...over }));

describe('GET /c/<token>', () => {
  it('redirects a genuine click to the landing URL in its token, after writing a billable decision', async () => {
    const { app, written } = harness();
    const res = await app.inject({ url: `/c/${genuine()}`, headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://shop.example/p/1');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(written).toHaveLength(1);
    expect(written[0]?.decision).toMatchObject({
      billable: true,
      reason: 'ok',
      instance: 'cf-1',
      ip: '127.0.0.1',
    });
    expect(written[0]?.settlement?.priceMicros).toBe(2_510_000);
  });

  it('redirects a crawler too, without a settlement record', async () => {
    const { app, written } = harness();
    const res = await app.inject({
      url: `/c/${genuine()}`,
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://shop.example/p/1');
    expect(written[0]?.decision).toMatchObject({ billable: false, reason: 'bot' });
    expect(written[0]?.settlement).toBeUndefined();
  });

  it('answers a tampered token with the 400 page and no Location, and records no decision', async () => {
    const { app, written } = harness();
    const t = genuine();
    const tampered = t.slice(0, 40) + (t[40] === 'x' ? 'y' : 'x') + t.slice(41);
    const res = await app.inject({ url: `/c/${tampered}`, headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toMatchInlineSnapshot(`
      "<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invalid link</title></head><body><h1>This link is not valid</h1><p>The ad link is damaged or was changed. Nothing was recorded.</p></body></html>
      "
    `);
    expect(written).toHaveLength(0);
  });

  it('answers garbage, an unknown key id and an over-long token the same way', async () => {
    const { app } = harness();
    const other = encodeClickToken(testKeyring(9, 3), payload());
    for (const token of ['%00%0d%0a', 'hello', other, 'A'.repeat(6000)]) {
      const res = await app.inject({ url: `/c/${token}` });
      expect(res.statusCode, token.slice(0, 10)).toBe(400);
      expect(res.headers.location).toBeUndefined();
    }
  });

  it('counts bad tokens by reason in /metrics', async () => {
    const { app } = harness();
    await app.inject({ url: '/c/hello' });
    const m = await app.inject({ url: '/metrics' });
    expect(m.body).toContain('imatch_click_bad_tokens_total{reason="bad-format"} 1');
  });

  it('still redirects when Kafka is down (after kafkaWaitMs), and says it was not durable', async () => {
    const { app, decisions } = harness({ kafkaWaitMs: 50 }, { failKafka: true });
    const res = await app.inject({ url: `/c/${genuine()}`, headers: { 'user-agent': BROWSER_UA } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://shop.example/p/1');
    const m = await app.inject({ url: '/metrics' });
    expect(m.body).toContain('imatch_click_redirect_before_durable_total 1');
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    decisions.close();
  });

  it('HEAD redirects a genuine token but records nothing', async () => {
    const { app, written } = harness();
    const res = await app.inject({ method: 'HEAD', url: `/c/${genuine()}` });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://shop.example/p/1');
    expect(written).toHaveLength(0);
  });

  it('takes the client address from X-Forwarded-For only with trustProxy', async () => {
    const a = harness();
    await a.app.inject({
      url: `/c/${genuine()}`,
      headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(a.written[0]?.decision.ip).toBe('127.0.0.1');
    const b = harness({ trustProxy: true });
    await b.app.inject({
      url: `/c/${genuine()}`,
      headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(b.written[0]?.decision.ip).toBe('203.0.113.9');
  });

  it('moves its clock through the test endpoint only when enabled', async () => {
    const off = harness();
    expect(
      (await off.app.inject({ method: 'PUT', url: '/v1/test/clock', payload: { offsetMs: 5 } })).statusCode,
    ).toBe(404);
    const on = harness({ testClockEndpoint: true });
    const res = await on.app.inject({
      method: 'PUT',
      url: '/v1/test/clock',
      payload: { offsetMs: 7_200_000 },
    });
    expect(res.statusCode).toBe(200);
    expect(on.clock.offset).toBe(7_200_000);
    const click = await on.app.inject({ url: `/c/${genuine()}`, headers: { 'user-agent': BROWSER_UA } });
    expect(click.statusCode).toBe(302);
    expect(on.written[0]?.decision.reason).toBe('expired');
  });
});
