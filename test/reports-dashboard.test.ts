// The live dashboard in a real browser: Debian's chromium, headless, driven by playwright-core
// (scripts/ensure-chromium.sh installs it), against a real `imatch reports` process reading a
// real Kafka. Traffic is written to the topics while the page is open (page views, valid and
// invalid click decisions, settlements, shaped as the blender and the click filter write them):
// the page goes live, its numbers move with the stream, and it logs no console error. The
// screenshot goes to a temporary folder, or to IMATCH_DASHBOARD_SCREENSHOT when set (that is
// how docs/dashboard.png is made).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createProducer, ensureTopics, type ImatchProducer } from '../core/kafka.js';
import { decision, pv, settlement } from '../reports/testing.js';
import { testKafka, uniqueTopic, waitFor } from './helpers/index.js';
import { startReportsProcess } from './reports-support.js';

const CHROMIUM = '/usr/bin/chromium';
const KEYWORDS = ['running shoes', 'trail shoes', 'rain jacket', 'headlamp', 'tent', 'sleeping bag'];
const REASONS = ['bot', 'duplicate', 'no-user-agent', 'ip-rate'];

let tmp: string | undefined;
let context: BrowserContext | undefined;
let producer: ImatchProducer | undefined;
let feeding = false;
let feeder: Promise<void> | undefined;

afterAll(async () => {
  feeding = false;
  await feeder;
  await context?.close();
  await producer?.disconnect();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Writes a few page views and clicks every 100 ms until `feeding` is false. */
async function feed(p: ImatchProducer, t: { pv: string; clicks: string; settlement: string }): Promise<void> {
  let seq = 0;
  while (feeding) {
    const now = Date.now();
    const pvs = [];
    const decisions = [];
    const settlements = [];
    for (let i = 0; i < 4; i++) {
      seq++;
      const pvId = randomUUID();
      const customers = [`c${seq % 7}`, `c${(seq * 3) % 11}`, `c${(seq * 5) % 13}`];
      pvs.push(
        pv(
          pvId,
          now,
          customers.map((customerId, k) => ({ customerId, priceMicros: 100_000 + k * 50_000 })),
          KEYWORDS[seq % KEYWORDS.length],
        ),
      );
      if (seq % 3 === 0) {
        const d = decision(`${pvId}:1`, customers[0]!, 'ok', 100_000, seq, now);
        decisions.push(d);
        settlements.push(settlement(d.clickId, d.customerId, d.priceMicros, now));
      }
      if (seq % 5 === 0)
        decisions.push(
          decision(`${pvId}:2`, customers[1]!, REASONS[seq % REASONS.length]!, 150_000, seq, now),
        );
    }
    const msg = (key: string, v: unknown) => ({ key, value: JSON.stringify(v), timestamp: String(now) });
    await p.send(
      t.pv,
      pvs.map((r) => msg(r.pvId, r)),
    );
    if (decisions.length)
      await p.send(
        t.clicks,
        decisions.map((r) => msg(r.clickId, r)),
      );
    if (settlements.length)
      await p.send(
        t.settlement,
        settlements.map((r) => msg(r.clickId, r)),
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the live dashboard in a browser', () => {
  it('goes live, its numbers move while traffic runs, and it logs no console error', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'imatch-dashboard-'));
    const t = {
      pv: uniqueTopic('pv'),
      clicks: uniqueTopic('clicks'),
      settlement: uniqueTopic('settlement'),
      corrections: uniqueTopic('corrections'),
      changes: uniqueTopic('changes'),
    };
    const kafka = testKafka('dashboard-test');
    await ensureTopics(kafka, Object.values(t));
    producer = await createProducer(kafka);
    const reports = await startReportsProcess(join(tmp, 'reports'), t);
    feeding = true;
    feeder = feed(producer, t);

    context = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1100 },
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // The event stream is cut when the page closes; anything else failing is a problem.
      if (!r.url().endsWith('/v1/live/stream')) problems.push(`request failed: ${r.url()}`);
    });
    const res = await page.goto(`${reports.url}/dashboard`);
    expect(res?.status()).toBe(200);
    await page.waitForFunction("document.getElementById('status')?.textContent === 'live'", undefined, {
      timeout: 30_000,
    });
    const number = async (id: string) =>
      Number(((await page.textContent(`#${id}`)) ?? '').replace(/[^\d.]/g, ''));
    const first = await number('k-tq');
    const updates = Number(await page.evaluate('document.body.dataset.updates || 0'));
    await waitFor(async () => (await number('k-tq')) > first, {
      what: 'the queries counter to move',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await number('k-ti')) > 0 && (await number('k-cost')) > 0, {
      what: 'impressions and cost to show',
    });
    await waitFor(
      async () => Number(await page.evaluate('document.body.dataset.updates || 0')) >= updates + 3,
      {
        what: 'three more pushed updates',
      },
    );
    // The charts are drawn (uPlot canvases) and the top lists are filled.
    expect(await page.locator('#c-traffic canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#t-kwd tr').count()).toBeGreaterThan(1);
    expect(await page.locator('#t-add tr').count()).toBeGreaterThan(1);
    await waitFor(async () => (await page.textContent('#k-qps')) !== '0', {
      what: 'a non-zero queries/s rate',
    });
    const shot = process.env.IMATCH_DASHBOARD_SCREENSHOT;
    if (shot !== undefined) {
      // For the picture in the docs: let the charts fill for a while longer.
      const now = Number(await page.evaluate('document.body.dataset.updates || 0'));
      await waitFor(
        async () => Number(await page.evaluate('document.body.dataset.updates || 0')) >= now + 40,
        {
          what: 'forty more updates for the screenshot',
          timeoutMs: 60_000,
        },
      );
    }
    await page.screenshot({
      path: shot ?? join(tmp, 'dashboard.png'),
      fullPage: true,
    });
    expect(problems).toEqual([]);
    feeding = false;
    await feeder;
    await page.close();
    expect(await reports.proc.stop('SIGTERM')).toBe(0);
  });
});
