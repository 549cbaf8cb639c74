// The click filter when Kafka goes away, against a Kafka of this test's own (the run's shared
// broker must stay up for the other tests): a genuine click is still redirected, after at most
// --kafka-wait-ms, and counted as answered before durability; /readyz turns 503; the decision
// stays queued and, once Kafka is back, is written with its settlement record, so the click is
// billed late rather than lost (docs/clicks-and-billing.md, "Ordering and durability").
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClickDecision, Settlement } from '../core/click-records.js';
import { createKafka, startConsumer } from '../core/kafka.js';
import { kafkaDir } from '../infra/kafka-server.js';
import { fetchServers, startKafka, stopServer } from '../infra/servers.js';
import { click, getJson, mint, newKeyring, startClickFilterProcess } from './click-support.js';
import { freePorts, uniqueGroupId, uniqueZkRoot, waitFor } from './helpers/index.js';

const CACHE = process.env.IMATCH_INFRA_CACHE_DIR || '~/.cache/imatch/infra';
let infraDir: string | undefined;
afterAll(async () => {
  if (infraDir) {
    await stopServer(kafkaDir(infraDir)).catch(() => {});
    await rm(infraDir, { recursive: true, force: true });
  }
});

async function metric(url: string, line: string): Promise<number> {
  const res = await fetchText(url);
  const hit = res.split('\n').find((l) => l.startsWith(line));
  return hit === undefined ? 0 : Number(hit.slice(line.length).trim());
}

async function fetchText(url: string): Promise<string> {
  const { request } = await import('undici');
  const res = await request(url);
  return res.body.text();
}

describe('click filter with Kafka down', () => {
  it('redirects anyway, is not ready, and bills the click once Kafka is back', async () => {
    infraDir = await mkdtemp(join(tmpdir(), 'imatch-kafka-down-'));
    const [port, controllerPort] = (await freePorts(2)) as [number, number];
    const jars = await fetchServers({ cacheDir: CACHE });
    const kafkaOptions = {
      infraDir,
      jars: jars.kafka,
      port,
      controllerPort,
      startTimeoutMs: 180_000,
      jvmArgs: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'],
    };
    const broker = await startKafka(kafkaOptions);
    const topics = { clicks: 'down.clicks', settlement: 'down.settlement' };
    const { ring, flag } = newKeyring();
    const cf = await startClickFilterProcess([
      '--kafka-brokers',
      broker.address,
      '--zk-root',
      uniqueZkRoot('kafka-down'),
      '--click-keys',
      flag,
      '--min-delay-after-pv-ms',
      '0',
      '--kafka-wait-ms',
      '500',
      '--topic-clicks',
      topics.clicks,
      '--topic-settlement',
      topics.settlement,
    ]);

    const before = mint(ring, { priceMicros: 70_000 });
    expect((await click(cf, before.token)).status).toBe(302);
    expect(await metric(`${cf.url}/metrics`, 'imatch_click_redirect_before_durable_total')).toBe(0);

    await stopServer(kafkaDir(infraDir));
    const during = mint(ring, { priceMicros: 90_000, landingUrl: 'https://shop.example/while-down' });
    const res = await click(cf, during.token);
    expect(res).toMatchObject({ status: 302, location: 'https://shop.example/while-down' });
    expect(await metric(`${cf.url}/metrics`, 'imatch_click_redirect_before_durable_total')).toBe(1);
    await waitFor(async () => (await getJson(cf, '/readyz')).status === 503, {
      what: '/readyz to report Kafka down',
      timeoutMs: 90_000,
    });

    const again = await startKafka(kafkaOptions);
    expect(again.address).toBe(broker.address);
    await waitFor(async () => (await getJson(cf, '/readyz')).status === 200, {
      what: 'the queued decision to be written and /readyz to recover',
      timeoutMs: 90_000,
    });

    const decisions: ClickDecision[] = [];
    const settlements: Settlement[] = [];
    const consumer = await startConsumer(
      createKafka({ brokers: [broker.address], clientId: 'kafka-down-test' }),
      {
        groupId: uniqueGroupId('kafka-down'),
        topics: [topics.clicks, topics.settlement],
        eachMessage: async (m) => {
          const v = JSON.parse(m.value!.toString('utf8'));
          if (m.topic === topics.clicks) decisions.push(v);
          else settlements.push(v);
        },
      },
    );
    try {
      await waitFor(() => settlements.length === 2 && decisions.length === 2, {
        what: 'both clicks in Kafka',
        timeoutMs: 60_000,
      });
      const late = settlements.find((s) => s.clickId === `${during.payload.pvId}:1`);
      expect(late).toMatchObject({ priceMicros: 90_000 });
      // Billed at the time of the click, not the time of the write.
      const d = decisions.find((x) => x.pvId === during.payload.pvId)!;
      expect(d.billable).toBe(true);
      expect(late!.clickedAtMs).toBe(d.clickedAtMs);
    } finally {
      await consumer.disconnect();
    }
    expect(await metric(`${cf.url}/metrics`, 'imatch_click_log_dropped_total')).toBe(0);
    await cf.proc.stop();
  });
});
