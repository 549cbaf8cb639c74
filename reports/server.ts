// Runs the reports service: opens the DuckDB database, rolls up days past the retention, starts
// the consumer (pv, clicks, settlement, corrections; resuming from the stored positions), the
// Kafka admin for the dashboard's lag and the HTTP app. Prints one "reports listening" line with
// the URL. One process per database file (DuckDB allows one writing process).
//
// Shutdown (SIGTERM/SIGINT, or close()): stop the HTTP app and the event streams, stop consuming
// (the batch in flight finishes its transaction), close the database (checkpoint), disconnect.
import { hostname } from 'node:os';
import type { Admin } from 'kafkajs';
import { ImatchError } from '../core/errors.js';
import { createKafka, ensureTopics } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { buildApp } from './app.js';
import { dbPathOf, type ReportsConfig } from './config.js';
import { type ReportsConsumer, type ReportTopics, startReportsConsumer } from './consumer.js';
import { liveSnapshot } from './live.js';
import { createReportsMetrics } from './metrics.js';
import { ReportStore } from './store.js';
import { addDays, checkTimeZone, dayOf } from './time.js';

export interface RunningReports {
  readonly url: string;
  readonly store: ReportStore;
  close(): Promise<void>;
}

export async function startReports(config: ReportsConfig, log: Logger): Promise<RunningReports> {
  try {
    checkTimeZone(config.timeZone);
  } catch {
    throw new ImatchError('IM_ERR_CONFIG', `--time-zone: unknown time zone "${config.timeZone}"`);
  }
  const path = dbPathOf(config);
  const store = await ReportStore.open(path);
  const metrics = createReportsMetrics();
  const topics: ReportTopics = {
    pv: config.topicPv,
    clicks: config.topicClicks,
    settlement: config.topicSettlement,
    corrections: config.topicCorrections,
    changes: config.topicChanges,
  };
  const today = () => dayOf(Date.now(), config.timeZone);
  const rollup = async () => {
    const before = addDays(today(), -config.retentionDays);
    const n = await store.rollup(before);
    if (n > 0) log.info({ before, impressions: n }, 'days past the retention rolled up');
  };

  let consumer: ReportsConsumer | undefined;
  let admin: Admin | undefined;
  let built: ReturnType<typeof buildApp> | undefined;
  let rollupTimer: NodeJS.Timeout | undefined;
  try {
    await rollup();
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-reports`,
      log,
    });
    await ensureTopics(kafka, Object.values(topics));
    admin = kafka.admin();
    await admin.connect();
    const a = admin;
    const snapshot = () =>
      liveSnapshot({ store, timeZone: config.timeZone, topics, topN: config.topN, admin: a });
    built = buildApp({
      log,
      store,
      metrics,
      timeZone: config.timeZone,
      today,
      snapshot,
      dashboardTickMs: config.dashboardTickMs,
      readiness: () => (consumer === undefined ? 'consumer not started' : undefined),
    });
    const groupId = `${config.groupId}.${store.id}`;
    consumer = await startReportsConsumer({
      kafka,
      store,
      groupId,
      topics,
      timeZone: config.timeZone,
      maxBatch: config.maxBatch,
      log,
      metrics,
    });
    await built.app.listen({ host: config.host, port: config.port });
    rollupTimer = setInterval(() => {
      rollup().catch((err) => log.error({ err }, 'rollup failed'));
    }, config.rollupEveryMs);
    rollupTimer.unref();
    log.info({ db: path, dbId: store.id, groupId, timeZone: config.timeZone }, 'reports consuming');
  } catch (err) {
    clearInterval(rollupTimer);
    await built?.app.close().catch(() => {});
    await consumer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await store.close();
    throw err;
  }
  const app = built.app;
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  let host = config.host;
  if (host === '0.0.0.0' || host === '::') host = hostname();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, dashboard: `${url}/dashboard` }, 'reports listening');

  const cons = consumer;
  const adm = admin;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      log.info('reports shutting down');
      clearInterval(rollupTimer);
      const forced = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      await app.close();
      clearTimeout(forced);
      await cons.disconnect().catch((err) => log.warn({ err }, 'consumer disconnect failed'));
      await adm.disconnect().catch(() => {});
      const positions = await store.positions();
      await store.close();
      log.info({ positions }, 'reports stopped');
    })();
    return closed;
  };
  return { url, store, close };
}
