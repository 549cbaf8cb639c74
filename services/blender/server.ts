// Runs one blender: parses the click keys, connects to ZooKeeper (run-time QRW dictionary,
// pricing rule and experiment arms, the learner's click model pointer, merger discovery unless --merger-url is given) and Kafka (the pv topic, an
// acks=all producer on its own thread behind the PV buffer), listens, registers under
// `<root>/services/blender/<id>` (ephemeral, core/registrations.ts BlenderRegistration) and shuts down
// gracefully: deregister first, then stop accepting and finish in-flight requests, then flush the
// page-view buffer to Kafka, then close the merger pools, the producer and the ZooKeeper session.
//
// Concurrency: one event loop; ZooKeeper callbacks (config, discovery) and requests interleave at
// awaits only, and every update replaces one reference (RuntimeSettings, the merger list).
import { keyringOf } from '../../core/click-keyring.js';
import { createKafka, ensureTopics } from '../../core/kafka.js';
import { ProducerThread } from '../../core/kafka-producer-thread.js';
import type { Logger } from '../../core/logger.js';
import { watchRegistrations } from '../../core/registration-watch.js';
import { type BlenderRegistration, serviceRegistration } from '../../core/registrations.js';
import { gracefulStop, listen, register } from '../../core/service-runtime.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk, type Registration, type Unwatch, type ZkClient } from '../../core/zookeeper.js';
import { buildApp } from './app.js';
import { ClickModel } from './click-model.js';
import type { BlenderConfig } from './config.js';
import { MergerPoolClient, mergerEndpoint } from './merger-client.js';
import { createBlenderMetrics } from './metrics.js';
import { PvLog } from './pv-log.js';
import { RuntimeSettings } from './runtime-config.js';

export interface RunningBlender {
  url: string;
  id: string;
  /** Graceful stop (idempotent). */
  close(): Promise<void>;
}

export async function startBlender(config: BlenderConfig, log: Logger): Promise<RunningBlender> {
  const keyring = keyringOf(config);
  const paths = zkPaths(config.zkRoot);
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const f of cleanups.reverse())
      await Promise.resolve(f()).catch((err) => log.warn({ err }, 'cleanup'));
  };

  let pvLog: PvLog | undefined;
  const merger = new MergerPoolClient(
    {
      timeoutMs: config.mergerTimeoutMs,
      connections: config.mergerConnections,
      log: log.child({ component: 'merger-client' }),
    },
    config.mergerUrl ?? [],
  );
  cleanups.push(() => merger.close());
  const metrics = createBlenderMetrics({
    facts: () => ({ mergers: merger.size, pvBuffered: pvLog?.buffered ?? 0 }),
  });
  const runtime = new RuntimeSettings(
    { reserveMicros: config.reserveMicros, stepMicros: config.stepMicros },
    log.child({ component: 'runtime-config' }),
    metrics,
  );
  const clickModel = new ClickModel(log.child({ component: 'click-model' }), metrics);
  let zk: ZkClient | undefined;
  let registration: Registration | undefined;
  let unsentPv = 0;
  const app = buildApp(config, {
    merger,
    pvLog: { append: (r) => pvLog?.append(r) ?? false },
    runtime,
    keyring,
    metrics,
    log,
    clickModel: () => clickModel.current,
    notReady: () => {
      const why: string[] = [];
      if (merger.size === 0) why.push('no merger is known');
      if (registration === undefined) why.push('not registered in ZooKeeper');
      if (zk !== undefined && !zk.isConnected()) why.push('ZooKeeper session lost');
      return why;
    },
  });

  const close = gracefulStop('blender', log, app, config.shutdownTimeoutMs, {
    registration: () => registration,
    afterStop: [
      [
        'flush page views',
        async () => {
          unsentPv = (await pvLog?.close(config.shutdownTimeoutMs)) ?? 0;
        },
      ],
      ['close clients', cleanup],
    ],
    summary: () => ({ unsentPv }),
  });

  try {
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    const zkClient = zk;
    cleanups.push(() => zkClient.close());

    const unwatch: Unwatch[] = [];
    cleanups.push(() => {
      for (const u of unwatch) u();
    });
    unwatch.push(
      await zk.watchData(paths.configQrw, (node) => {
        runtime.updateQrw(node?.data, node === null ? 'absent' : `v${node.stat.version}`);
      }),
      await zk.watchData(paths.configPricing, (node) => {
        runtime.updatePricing(node?.data, node === null ? 'absent' : `v${node.stat.version}`);
      }),
      await zk.watchData(paths.configExperiment, (node) => {
        runtime.updateExperiment(node?.data, node === null ? 'absent' : `v${node.stat.version}`);
      }),
      await zk.watchData(paths.learnerModel, (node) => clickModel.onPointer(node?.data)),
    );
    if (config.mergerUrl === undefined) {
      const discoveryLog = log.child({ component: 'merger-discovery' });
      unwatch.push(
        await watchRegistrations(zkClient, {
          path: paths.serviceKind('merger'),
          log: discoveryLog,
          onChange: (mergers) => {
            merger.setEndpoints(mergers.map((m) => mergerEndpoint(m, config.mergerFrames)));
            discoveryLog.info({ mergers: merger.urls }, 'mergers');
          },
        }),
      );
    }

    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-blender`,
      log,
    });
    await ensureTopics(kafka, [config.topicPv]);
    // The producer encodes and sends on its own thread (core/kafka-producer-thread.ts says why).
    const producer = await ProducerThread.start({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-blender`,
      topics: [config.topicPv],
      logName: 'blender',
      logLevel: config.logLevel,
    });
    cleanups.push(() => producer.close(config.shutdownTimeoutMs));
    pvLog = new PvLog({
      sink: { send: (messages) => producer.send(config.topicPv, messages) },
      log: log.child({ component: 'pv-log' }),
      flushMs: config.pvFlushMs,
      batchSize: config.pvBatchSize,
      bufferMax: config.pvBufferMax,
      counters: {
        sent: (n) => metrics.pvSent.inc(n),
        dropped: (n) => metrics.pvDropped.inc(n),
        failed: () => metrics.pvSendFailures.inc(),
      },
    });

    const { url, id } = await listen(app, config);
    registration = await register(
      zk,
      `${paths.serviceKind('blender')}/${id}`,
      serviceRegistration(url, id) satisfies BlenderRegistration,
    );
    log.info({ url, id, mergers: merger.urls, keyId: keyring.currentKid }, 'blender listening');
    return { url, id, close };
  } catch (err) {
    await close();
    throw err;
  }
}
