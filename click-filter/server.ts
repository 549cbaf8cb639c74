// Runs one click-filter instance: ZooKeeper (run-time settings watch + registration under
// services/click-filter/<instance>), Kafka (ensures the clicks and settlement topics; idempotent
// acks=all producers on @platformatic/kafka, core/kafka-lean-producer.ts), then listens. Prints
// one "click-filter listening" log line with its URL.
//
// Shutdown (SIGTERM/SIGINT, or close()): deregister first (so nothing new is routed here), stop
// accepting and finish in-flight clicks (their Kafka writes included), drain what is still queued
// for Kafka (bounded by shutdownTimeoutMs; anything left is logged in full), then disconnect.
//
// Concurrency: one event loop; see app.ts and decision-log.ts.
import { hostname } from 'node:os';
import { keyringOf } from '../core/click-keyring.js';
import { OffsetClock } from '../core/clock.js';
import { createKafka, ensureTopics } from '../core/kafka.js';
import { LeanProducer } from '../core/kafka-lean-producer.js';
import type { Logger } from '../core/logger.js';
import { type ClickFilterRegistration, serviceRegistration } from '../core/registrations.js';
import { gracefulStop, listen, register, registrationProblem } from '../core/service-runtime.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type Registration, type Unwatch, type ZkClient } from '../core/zookeeper.js';
import { buildApp, type ClickFilterApp, defaultSettings } from './app.js';
import type { ClickFilterConfig } from './config.js';
import { DecisionLog } from './decision-log.js';
import { type SettingsHolder, watchSettings } from './settings-watcher.js';

export interface RunningClickFilter {
  readonly url: string;
  readonly instance: string;
  readonly filter: ClickFilterApp;
  close(): Promise<void>;
}

export async function startClickFilter(config: ClickFilterConfig, log: Logger): Promise<RunningClickFilter> {
  const keyring = keyringOf(config);
  const instance =
    config.id ??
    `${hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 40)}-${process.pid}`;
  // Unique per process run, so decision ids never repeat across restarts.
  const runId = `${instance}.${Date.now().toString(36)}`;
  const clock = new OffsetClock(config.clockOffsetMs);
  const paths = zkPaths(config.zkRoot);
  const defaults = defaultSettings(config);
  const holder: SettingsHolder = { current: defaults, loaded: false };

  let zk: ZkClient | undefined;
  const producers: LeanProducer[] = [];
  let registration: Registration | undefined;
  let unwatch: Unwatch | undefined;
  let filter: ClickFilterApp | undefined;
  let decisions: DecisionLog | undefined;
  let stop: (() => Promise<void>) | undefined;
  try {
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-click-filter`,
      log,
    });
    await ensureTopics(kafka, [
      { topic: config.topicClicks, numPartitions: config.clickTopicPartitions },
      { topic: config.topicSettlement, numPartitions: config.clickTopicPartitions },
    ]);
    for (let i = 0; i < config.kafkaProducers; i++) {
      const p = new LeanProducer({
        brokers: config.kafkaBrokers,
        clientId: `${config.kafkaClientId}-click-filter`,
        log,
      });
      producers.push(p);
      await p.connect([config.topicClicks, config.topicSettlement]);
    }
    let metricsRef: ClickFilterApp['metrics'] | undefined;
    decisions = new DecisionLog({
      // Both topics in one send: records whose leaders share a broker leave in one produce request
      // (core/kafka-lean-producer.ts). Under kafkajs this was one call per topic, because kafkajs
      // 2.2.4 kept a multi-broker send's answers per broker across its retries and skipped the
      // broker that had acknowledged the clicks part when the settlement leader moved there
      // (test:chaos 'billing' caught 63 clicks decided and never charged; kafkajs issue #1303).
      // @platformatic/kafka retries each broker's part on its own and fails the whole send when
      // any part fails; the same chaos scenario guards it.
      send: producers.map((p) => (topicMessages) => p.send(topicMessages)),
      clicksTopic: config.topicClicks,
      settlementTopic: config.topicSettlement,
      maxBatch: config.maxLogBatch,
      lingerMs: config.logLingerMs,
      maxPending: config.maxPendingDecisions,
      maxRetryMs: config.maxDecisionRetryMs,
      now: Date.now,
      log: log.child({ component: 'decision-log' }),
      onBatch: (n, seconds) => {
        metricsRef?.logBatches.inc();
        metricsRef?.logBatchSize.observe(n);
        metricsRef?.logRequestSeconds.observe(seconds);
      },
      onFailure: () => metricsRef?.logFailures.inc(),
      onDropped: (why, n) => metricsRef?.logDropped.inc({ why }, n),
    });
    filter = buildApp(config, {
      log,
      keyring,
      clock,
      decisions,
      settings: holder,
      instance: runId,
      readiness: () => registrationProblem(registration, zk),
    });
    const f = filter;
    metricsRef = f.metrics;
    unwatch = await watchSettings({
      zk,
      path: paths.configClickFilter,
      defaults,
      holder,
      log: log.child({ component: 'settings' }),
      onApplied: (_s, version) => f.metrics.settingsVersion.set(version),
      onRefused: () => f.metrics.settingsErrors.inc(),
    });
    const { url } = await listen(f.app, config);
    const regPath = `${paths.serviceKind('click-filter')}/${instance}`;
    registration = await register(zk, regPath, {
      ...serviceRegistration(url, instance),
      instance: runId,
    } satisfies ClickFilterRegistration);
    log.info({ url, instance: runId, path: regPath, logMode: config.logMode }, 'click-filter listening');
    return { url, instance: runId, filter: f, close: stopOf(f) };
  } catch (err) {
    if (filter !== undefined) await stopOf(filter)();
    else {
      decisions?.close();
      await Promise.all(producers.map((p) => p.close().catch(() => {})));
      await zk?.close();
    }
    throw err;
  }

  function stopOf(f: ClickFilterApp): () => Promise<void> {
    stop ??= gracefulStop('click-filter', log, f.app, config.shutdownTimeoutMs, {
      registration: () => registration,
      beforeStop: [['stop watching settings', () => unwatch?.()]],
      afterStop: [
        [
          'drain decisions',
          async () => {
            const left = (await decisions?.drain(config.shutdownTimeoutMs)) ?? 0;
            if (left > 0) log.error({ left }, 'decisions still not written to Kafka at shutdown');
            decisions?.close();
          },
        ],
        ['close producers', () => Promise.all(producers.map((p) => p.close()))],
        ['close ZooKeeper', () => zk?.close()],
      ],
      summary: () => ({ written: decisions?.written ?? 0 }),
    });
    return stop;
  }
}
