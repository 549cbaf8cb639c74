// Runs one blender: parses the click keys, connects to ZooKeeper (run-time QRW dictionary and
// pricing rule, merger discovery unless --merger-url is given) and Kafka (the pv topic, an
// acks=all producer behind the PV buffer), listens, registers under
// `<root>/services/blender/<id>` (ephemeral, JSON {url, id, startedAt, pid, host}) and shuts down
// gracefully: deregister first, then stop accepting and finish in-flight requests, then flush the
// page-view buffer to Kafka, then close the merger pools, the producer and the ZooKeeper session.
//
// Concurrency: one event loop; ZooKeeper callbacks (config, discovery) and requests interleave at
// awaits only, and every update replaces one reference (RuntimeSettings, the merger list).
import { hostname } from 'node:os';
import { type ClickKeyring, parseClickKeys } from '../../core/click-token.js';
import { ImatchError } from '../../core/errors.js';
import { createKafka, createProducer, ensureTopics, type ImatchProducer } from '../../core/kafka.js';
import type { Logger } from '../../core/logger.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk, type Registration, type Unwatch, type ZkClient } from '../../core/zookeeper.js';
import { buildApp } from './app.js';
import type { BlenderConfig } from './config.js';
import { UndiciMergerClient } from './merger-client.js';
import { createBlenderMetrics } from './metrics.js';
import { PvLog } from './pv-log.js';
import { RuntimeSettings } from './runtime-config.js';

export interface BlenderRegistration {
  url: string;
  id: string;
  startedAt: string;
  pid: number;
  host: string;
}

export interface RunningBlender {
  url: string;
  id: string;
  /** Graceful stop (idempotent). */
  close(): Promise<void>;
}

/** The keyring of --click-keys / --click-key-id, or IM_ERR_CONFIG naming the problem. */
export function keyringOf(config: Pick<BlenderConfig, 'clickKeys' | 'clickKeyId'>): ClickKeyring {
  try {
    return parseClickKeys(config.clickKeys, config.clickKeyId);
  } catch (err) {
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `Invalid configuration: --click-keys / --click-key-id: ${(err as Error).message}`,
    );
  }
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
  const merger = new UndiciMergerClient(
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
  let zk: ZkClient | undefined;
  let producer: ImatchProducer | undefined;
  let registration: Registration | undefined;
  const app = buildApp(config, {
    merger,
    pvLog: { append: (r) => pvLog?.append(r) ?? false },
    runtime,
    keyring,
    metrics,
    log,
    notReady: () => {
      const why: string[] = [];
      if (merger.size === 0) why.push('no merger is known');
      if (registration === undefined) why.push('not registered in ZooKeeper');
      if (zk !== undefined && !zk.isConnected()) why.push('ZooKeeper session lost');
      return why;
    },
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
    );
    if (config.mergerUrl === undefined) {
      const discoveryLog = log.child({ component: 'merger-discovery' });
      const kindPath = paths.serviceKind('merger');
      unwatch.push(
        await zk.watchChildren(kindPath, async (children) => {
          const urls: string[] = [];
          for (const child of children ?? []) {
            try {
              const node = await zkClient.get(`${kindPath}/${child}`);
              const url =
                node === null ? undefined : (JSON.parse(node.data.toString()) as { url?: unknown }).url;
              if (typeof url === 'string' && /^https?:\/\//.test(url)) urls.push(url);
              else if (node !== null) discoveryLog.warn({ child }, 'merger registration without a url');
            } catch (err) {
              discoveryLog.warn({ child, err }, 'unreadable merger registration');
            }
          }
          merger.setEndpoints(urls);
          discoveryLog.info({ mergers: urls }, 'mergers');
        }),
      );
    }

    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-blender`,
      log,
    });
    await ensureTopics(kafka, [config.topicPv]);
    producer = await createProducer(kafka, { log });
    const producerRef = producer;
    cleanups.push(() => producerRef.disconnect());
    pvLog = new PvLog({
      sink: {
        send: async (messages) => {
          await producerRef.send(config.topicPv, messages);
        },
      },
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

    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close().catch(() => {});
    await cleanup();
    throw err;
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.advertiseHost ?? config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const id = config.id ?? `${host.replace(/[^A-Za-z0-9_.-]/g, '_')}-${port}`;
  const data: BlenderRegistration = {
    url,
    id,
    startedAt: new Date().toISOString(),
    pid: process.pid,
    host: hostname(),
  };
  try {
    registration = await zk.register(`${paths.serviceKind('blender')}/${id}`, JSON.stringify(data));
  } catch (err) {
    await app.close().catch(() => {});
    await pvLog.close(1000);
    await cleanup();
    throw err;
  }
  log.info({ url, id, mergers: merger.urls, keyId: keyring.currentKid }, 'blender listening');

  const pv = pvLog;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info('blender shutting down');
      await registration?.unregister().catch((err) => log.warn({ err }, 'deregistration failed'));
      const forced = setTimeout(() => {
        log.warn(
          { timeoutMs: config.shutdownTimeoutMs },
          'in-flight requests did not finish; closing anyway',
        );
        app.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      await app.close();
      clearTimeout(forced);
      const unsent = await pv.close(config.shutdownTimeoutMs);
      await cleanup();
      log.info({ unsentPv: unsent }, 'blender stopped');
    })();
    return closing;
  };
  return { url, id, close };
}
