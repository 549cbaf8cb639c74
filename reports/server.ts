// Runs the reports service: opens the DuckDB database, rolls up days past the retention, starts
// the consumer (pv, clicks, settlement, corrections; resuming from the stored positions), the
// Kafka admin for the dashboard's lag and the HTTP app, then registers under
// <root>/services/reports/<id> (ReportsRegistration: the URL and the database's id). Prints one
// "reports listening" line with the URL. One process per database file (DuckDB allows one writing
// process).
//
// Shutdown (SIGTERM/SIGINT, or close(); core/service-runtime.ts gracefulStop): deregister, stop
// the HTTP app and the event streams, stop consuming (the batch in flight finishes its
// transaction), disconnect the admin, close the database (checkpoint), close ZooKeeper.
import type { FastifyInstance } from 'fastify';
import type { Admin } from 'kafkajs';
import { ImatchError } from '../core/errors.js';
import { createKafka, ensureTopics } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { type ReportsRegistration, serviceRegistration } from '../core/registrations.js';
import { gracefulStop, listen, register, registrationProblem } from '../core/service-runtime.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type Registration, type ZkClient } from '../core/zookeeper.js';
import { buildApp } from './app.js';
import { dbPathOf, type ReportsConfig } from './config.js';
import { type ReportsConsumer, type ReportTopics, startReportsConsumer } from './consumer.js';
import { liveSnapshot, TodayCache } from './live.js';
import { createReportsMetrics } from './metrics.js';
import { ReportStore } from './store.js';
import { addDays, checkTimeZone, dayOf } from './time.js';

export interface RunningReports {
  readonly url: string;
  /** The registration node's name under <root>/services/reports. */
  readonly id: string;
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
  const store = await ReportStore.open(path, { checkpointMb: config.checkpointMb });
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

  let zk: ZkClient | undefined;
  let consumer: ReportsConsumer | undefined;
  let admin: Admin | undefined;
  let registration: Registration | undefined;
  let rollupTimer: NodeJS.Timeout | undefined;
  let stop: (() => Promise<void>) | undefined;
  let positions: Awaited<ReturnType<ReportStore['positions']>> | undefined;
  let app: FastifyInstance | undefined;
  try {
    await rollup();
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-reports`,
      log,
    });
    await ensureTopics(kafka, Object.values(topics));
    admin = kafka.admin();
    await admin.connect();
    const a = admin;
    // Today's totals and top-N are recomputed at most when older than 4x their last cost.
    const todayCache = new TodayCache();
    const snapshot = () =>
      liveSnapshot({ store, timeZone: config.timeZone, topics, topN: config.topN, admin: a, todayCache });
    app = buildApp({
      log,
      store,
      metrics,
      timeZone: config.timeZone,
      today,
      snapshot,
      dashboardTickMs: config.dashboardTickMs,
      readiness: () =>
        consumer === undefined ? 'consumer not started' : registrationProblem(registration, zk),
    }).app;
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
    const { url, id } = await listen(app, config);
    rollupTimer = setInterval(() => {
      rollup().catch((err) => log.error({ err }, 'rollup failed'));
    }, config.rollupEveryMs);
    rollupTimer.unref();
    log.info({ db: path, dbId: store.id, groupId, timeZone: config.timeZone }, 'reports consuming');
    const regPath = `${zkPaths(config.zkRoot).serviceKind('reports')}/${id}`;
    registration = await register(zk, regPath, {
      ...serviceRegistration(url, id),
      dbId: store.id,
    } satisfies ReportsRegistration);
    log.info({ url, id, path: regPath, dashboard: `${url}/dashboard` }, 'reports listening');
    return { url, id, store, close: stopOf(app) };
  } catch (err) {
    if (app !== undefined) await stopOf(app)();
    else {
      await admin?.disconnect().catch(() => {});
      await zk?.close().catch(() => {});
      await store.close();
    }
    throw err;
  }

  function stopOf(a: FastifyInstance): () => Promise<void> {
    stop ??= gracefulStop('reports', log, a, config.shutdownTimeoutMs, {
      beforeStop: [['stop rolling up', () => clearInterval(rollupTimer)]],
      registration: () => registration,
      afterStop: [
        ['stop consuming', () => consumer?.disconnect()],
        ['disconnect the Kafka admin', () => admin?.disconnect()],
        [
          'close the database',
          async () => {
            positions = await store.positions();
            await store.close();
          },
        ],
        ['close ZooKeeper', () => zk?.close()],
      ],
      summary: () => ({ positions }),
    });
    return stop;
  }
}
