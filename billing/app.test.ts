import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OffsetClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { buildApp } from './app.js';
import { BudgetKeeper } from './budget-keeper.js';
import { BillingConfig } from './config.js';
import { Ledger } from './ledger.js';
import { createBillingMetrics } from './metrics.js';

let dir: string;
let ledger: Ledger;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'billing-app-'));
  ledger = new Ledger({ path: dir, timeZone: 'UTC' });
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

function app(flags: Record<string, unknown> = {}) {
  const config = loadConfig(BillingConfig, { flags });
  const clock = new OffsetClock();
  const keeper = new BudgetKeeper({
    ledger,
    clock,
    timeZone: 'UTC',
    dispatch: undefined,
    log: silentLogger(),
  });
  return {
    clock,
    app: buildApp(config, {
      log: silentLogger(),
      ledger,
      keeper,
      clock,
      metrics: createBillingMetrics(ledger, false),
      readiness: () => undefined,
    }),
  };
}

describe('billing HTTP', () => {
  it("reports a customer's spend for a day", async () => {
    ledger.applyBatch(
      [
        {
          event: {
            kind: 'settlement',
            value: {
              v: 1,
              clickId: 'k',
              customerId: 'c1',
              offerId: 'o',
              bidwordId: 'b',
              priceMicros: 1_230_000,
              clickedAtMs: Date.UTC(2026, 10, 22, 9),
              instance: 'i',
            },
          },
          topic: 's',
          partition: 0,
          offset: '0',
        },
      ],
      [{ topic: 's', partition: 0, nextOffset: '1' }],
    );
    const res = await app().app.inject({ url: '/v1/spend?customer=c1&day=2026-11-22' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      customerId: 'c1',
      day: '2026-11-22',
      chargedMicros: 1_230_000,
      netMicros: 1_230_000,
      clicks: 1,
      text: { net: '1.23' },
    });
  });

  it('answers 404 for a customer billing does not know, and 400 for a bad day', async () => {
    const { app: a } = app();
    const unknown = await a.inject({ url: '/v1/spend?customer=nobody' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      statusCode: 404,
      code: 'IM_ERR_NOT_FOUND',
      error: 'Not Found',
      message: 'Billing knows no customer "nobody"',
    });
    const bad = await a.inject({ url: '/v1/spend?customer=c1&day=22-11-2026' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'IM_ERR_BAD_REQUEST' });
  });

  it('refuses a day that is not on the calendar and unknown parameters, with 400 and a code', async () => {
    const { app: a } = app();
    for (const url of [
      '/v1/spend?customer=c1&day=2026-13-45',
      '/v1/spend?customer=c1&day=2026-02-30',
      '/v1/spend?customer=c1&dya=2026-11-22',
      '/v1/totals?verbose=1',
    ]) {
      const res = await a.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().code, url).toBe('IM_ERR_BAD_REQUEST');
    }
    const month = await a.inject({ url: '/v1/spend?customer=c1&day=2026-13-45' });
    expect(month.json().message).toBe(
      'Invalid parameter "day": "2026-13-45" does not match. Expected: Billing day YYYY-MM-DD, a real calendar date (default: today)',
    );
    const typo = await a.inject({ url: '/v1/spend?customer=c1&dya=2026-11-22' });
    expect(typo.json().message).toBe('Unknown parameter "dya". Allowed: customer, day');
    // A leap day is a real day (the customer is unknown: 404, not 400).
    expect((await a.inject({ url: '/v1/spend?customer=c1&day=2028-02-29' })).statusCode).toBe(404);
  });

  it('moves the billing clock through the test endpoint only when enabled', async () => {
    expect(
      (await app().app.inject({ method: 'PUT', url: '/v1/test/clock', payload: { offsetMs: 1 } })).statusCode,
    ).toBe(404);
    const { app: a, clock } = app({ testClockEndpoint: true });
    const res = await a.inject({ method: 'PUT', url: '/v1/test/clock', payload: { offsetMs: 86_400_000 } });
    expect(res.statusCode).toBe(200);
    expect(clock.offset).toBe(86_400_000);
  });
});
