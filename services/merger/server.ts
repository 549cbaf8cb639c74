// Runs one merger: connects to ZooKeeper, discovers searcher replicas, listens, registers under
// `<root>/services/merger/<id>` (ephemeral, core/registrations.ts MergerRegistration) and shuts down
// gracefully: deregister first (blenders stop choosing this merger), then stop accepting and
// finish in-flight merges, then close searcher pools and the ZooKeeper session.
//
// Concurrency: one event loop; discovery callbacks and requests interleave at awaits only, and
// the balancer's replica table is replaced wholesale by discovery.

import { type FrameServer, startFrameServer } from '../../core/frame-rpc.js';
import type { Logger } from '../../core/logger.js';
import { type MergerRegistration, serviceRegistration } from '../../core/registrations.js';
import { advertisedHost, gracefulStop, listen, register } from '../../core/service-runtime.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk, type Registration, type ZkClient } from '../../core/zookeeper.js';
import { buildMerger } from './app.js';
import { Balancer } from './balancer.js';
import type { MergerConfig } from './config.js';
import { Discovery } from './discovery.js';
import { searcherClientFor } from './searcher-client.js';

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
      searcherClientFor(reg, {
        useFrames: config.searcherFrames,
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
  const { app, mergeFrames } = buildMerger(config, {
    log,
    balancer,
    isDiscovered: () => discovery.ready,
  });
  let registration: Registration | undefined;
  let frames: FrameServer | undefined;
  const close = gracefulStop('merger', log, app, config.shutdownTimeoutMs, {
    registration: () => registration,
    afterStop: [
      ['close the frame listener', () => frames?.close(config.shutdownTimeoutMs)],
      ['stop discovery', () => discovery.stop()],
      ['close searcher pools', () => balancer.close()],
      ['close ZooKeeper', () => zk.close()],
    ],
  });
  try {
    await discovery.start();
    const { url, id } = await listen(app, config);
    if (config.framesPort !== -1)
      frames = await startFrameServer(mergeFrames, {
        host: config.host,
        port: config.framesPort,
        onConnectionError: (err) => log.warn({ err }, 'frame connection closed on an error'),
      });
    const path = `${zkPaths(config.zkRoot).serviceKind('merger')}/${id}`;
    const data: MergerRegistration = {
      ...serviceRegistration(url, id),
      ...(frames === undefined
        ? {}
        : { frames: `${advertisedHost(config.host, config.advertiseHost)}:${frames.port}` }),
    };
    registration = await register(zk, path, data);
    log.info(
      { url, frames: frames?.address, id, version: discovery.version, columns: balancer.columnCount },
      'merger listening',
    );
    return { url, id, close };
  } catch (err) {
    await close();
    throw err;
  }
}
