// Runs one merger: connects to ZooKeeper, discovers searcher replicas, listens, registers under
// `<root>/services/merger/<id>` (ephemeral, JSON {url, id, startedAt, pid}) and shuts down
// gracefully: deregister first (blenders stop choosing this merger), then stop accepting and
// finish in-flight merges, then close searcher pools and the ZooKeeper session.
//
// Concurrency: one event loop; discovery callbacks and requests interleave at awaits only, and
// the balancer's replica table is replaced wholesale by discovery.
import { hostname } from 'node:os';
import type { Logger } from '../../core/logger.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk, type Registration, type ZkClient } from '../../core/zookeeper.js';
import { buildApp } from './app.js';
import { Balancer } from './balancer.js';
import type { MergerConfig } from './config.js';
import { Discovery } from './discovery.js';
import { PoolSearcherClient } from './searcher-client.js';

export interface MergerRegistration {
  url: string;
  id: string;
  startedAt: string;
  pid: number;
  host: string;
}

export interface RunningMerger {
  url: string;
  id: string;
  /** Graceful stop (idempotent). */
  close(): Promise<void>;
}

export async function startMerger(config: MergerConfig, log: Logger): Promise<RunningMerger> {
  const zk: ZkClient = await connectZk({
    connect: config.zkConnect,
    sessionTimeoutMs: config.zkSessionTimeoutMs,
    log,
  });
  const balancerLog = log.child({ component: 'balancer' });
  const balancer = new Balancer({
    clientFactory: (reg) =>
      new PoolSearcherClient(reg, {
        connections: config.connectionsPerReplica,
        keepAliveTimeoutMs: config.keepAliveTimeoutMs,
        abandonAfterMs: config.abandonAfterMs,
      }),
    backoffMs: config.backoffMs,
    maxBackoffMs: config.maxBackoffMs,
    ejectAfterTimeouts: config.ejectAfterTimeouts,
    onUnhealthy: (replica, backoffMs, cause) =>
      balancerLog.warn(
        {
          column: replica.registration.column,
          replica: replica.id,
          url: replica.registration.url,
          backoffMs,
          reason: cause instanceof Error ? cause.message : undefined,
        },
        'searcher replica failed; no traffic until its backoff ends',
      ),
  });
  const discoveryLog = log.child({ component: 'discovery' });
  let lastSummary = '';
  const discovery = new Discovery(zk, {
    root: config.zkRoot,
    log: discoveryLog,
    onChange: (columns) => {
      balancer.setReplicas(columns);
      // Registrations change on every applied-id update; log only when the replica set changes.
      const summary = JSON.stringify(columns.map((c) => c.map((r) => `${r.replica}@${r.url}`)));
      if (summary !== lastSummary) {
        lastSummary = summary;
        discoveryLog.info({ replicas: columns.map((c) => c.map((r) => r.replica)) }, 'searcher replicas');
      }
    },
  });
  let registration: Registration | undefined;
  const app = buildApp(config, { log, balancer, isDiscovered: () => discovery.ready });
  try {
    await discovery.start();
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    discovery.stop();
    await app.close().catch(() => {});
    await balancer.close();
    await zk.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.advertiseHost ?? config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const id = config.id ?? `${host.replace(/[^A-Za-z0-9_.-]/g, '_')}-${port}`;
  const data: MergerRegistration = {
    url,
    id,
    startedAt: new Date().toISOString(),
    pid: process.pid,
    host: hostname(),
  };
  registration = await zk.register(
    `${zkPaths(config.zkRoot).serviceKind('merger')}/${id}`,
    JSON.stringify(data),
  );
  log.info({ url, id, version: discovery.version, columns: balancer.columnCount }, 'merger listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info('merger shutting down');
      await registration?.unregister().catch((err) => log.warn({ err }, 'deregistration failed'));
      const forced = setTimeout(() => {
        log.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight merges did not finish; closing anyway');
        app.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      await app.close();
      clearTimeout(forced);
      discovery.stop();
      await balancer.close();
      await zk.close();
      log.info('merger stopped');
    })();
    return closing;
  };
  return { url, id, close };
}
