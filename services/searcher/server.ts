// Runs one searcher replica: connects to ZooKeeper, listens, watches `<root>/index/current`, loads
// the column of each published version beside the one serving (index-holder.ts), and keeps an
// ephemeral registration at `<root>/services/searcher/col-<c>/<replica>` (SearcherRegistration)
// that appears once the first version serves and follows every swap. Until a version has loaded
// the replica answers /healthz, is not ready (/readyz 503, POST /search 503) and is not registered,
// so mergers never pick it.
//
// Shutdown (SIGTERM/SIGINT, or close()): deregister first, so mergers stop choosing this replica
// while it still answers; then stop accepting and finish in-flight requests (bounded by
// shutdownTimeoutMs); then close the ZooKeeper session.
//
// Concurrency: one event loop. Registration changes happen in the holder's after-swap hook, which
// the holder runs serially, so register/update never race each other; close() waits for a
// registration attempt in progress and then removes whatever exists.
import { hostname } from 'node:os';
import type { Logger } from '../../core/logger.js';
import { type SearcherRegistration, zkPaths } from '../../core/zk-paths.js';
import { connectZk, type Registration, type Unwatch, type ZkClient } from '../../core/zookeeper.js';
import { buildApp, createSearcherState, type SearcherState } from './app.js';
import type { SearcherConfig } from './config.js';
import type { ColumnIndex } from './index/column-index.js';
import type { Serving } from './index-holder.js';
import { type IsUpdateRuntime, openIsUpdate } from './isupdate/runtime.js';
import { watchIndexVersion } from './version-watcher.js';

export interface RunningSearcher {
  readonly url: string;
  readonly state: SearcherState;
  /** Rewrites the registration with the latest version and applied id (isupdate calls this). */
  refreshRegistration(): Promise<void>;
  /** Graceful stop (idempotent). */
  close(): Promise<void>;
}

export async function startSearcher(config: SearcherConfig, log: Logger): Promise<RunningSearcher> {
  const startedAt = new Date().toISOString();
  const path = zkPaths(config.zkRoot).searcherReplica(config.column, config.replica);
  let zk: ZkClient | undefined;
  let registration: Registration | undefined;
  let url = '';
  let closing = false;

  const registrationOf = (serving: Serving<ColumnIndex>): SearcherRegistration => ({
    url,
    column: config.column,
    replica: config.replica,
    version: serving.version,
    appliedId: serving.index.appliedId,
    startedAt,
  });

  const publish = async (serving: Serving<ColumnIndex>): Promise<void> => {
    if (zk === undefined || closing) return;
    const data = JSON.stringify(registrationOf(serving));
    if (registration === undefined) {
      registration = await zk.register(path, data);
      log.info({ path, url, version: serving.version }, 'registered in ZooKeeper');
    } else {
      await registration.update(data);
      log.info({ path, version: serving.version }, 'registration updated');
    }
  };

  // isupdate (services/searcher/isupdate): replays its WAL into each version before it serves,
  // prunes the WAL after each switch and starts consuming change messages after the first one.
  let isupdate: IsUpdateRuntime | undefined;
  const state = createSearcherState(config, {
    log,
    catchUp: async (index) => {
      await isupdate?.catchUp(index);
    },
    onSwapped: async (serving) => {
      await isupdate?.swapped().catch((err) => log.error({ err }, 'isupdate after-swap step failed'));
      try {
        await publish(serving);
      } catch (err) {
        // Keep serving; retry until registered (or closing). A merger cannot see us meanwhile.
        log.error({ err, path }, 'could not register in ZooKeeper; retrying');
        retryRegistration();
      }
    },
  });
  const refreshRegistration = async (): Promise<void> => {
    const serving = state.holder.current;
    if (serving !== undefined && registration !== undefined && !closing) {
      await registration.update(JSON.stringify(registrationOf(serving)));
    }
  };
  let retryTimer: NodeJS.Timeout | undefined;
  const retryRegistration = () => {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      const serving = state.holder.current;
      if (serving === undefined || closing) return;
      publish(serving).catch((err) => {
        log.error({ err, path }, 'could not register in ZooKeeper; retrying');
        retryRegistration();
      });
    }, 1000);
  };

  const app = buildApp(config, {
    ...state,
    log,
    isRegistered: () => registration !== undefined && zk?.isConnected() === true,
  });

  let unwatch: Unwatch | undefined;
  try {
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    let host = config.advertiseHost ?? config.host;
    if (config.advertiseHost === undefined && (host === '0.0.0.0' || host === '::')) host = hostname();
    url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    log.info({ url, column: config.column, replica: config.replica }, 'searcher listening');
    if (config.isupdate) {
      isupdate = await openIsUpdate(config, {
        live: { current: () => state.holder.current?.index },
        registry: state.metrics.registry,
        log,
        zk,
        onApplied: () =>
          void refreshRegistration().catch((err) => log.warn({ err }, 'could not publish appliedId')),
      });
    }
    unwatch = await watchIndexVersion({
      zk,
      zkRoot: config.zkRoot,
      log,
      onPointer: (pointer) => state.holder.request(pointer),
      onBadPointer: () => state.metrics.swapFailures.inc({ reason: 'bad-pointer' }),
    });
  } catch (err) {
    await app.close().catch(() => {});
    await isupdate?.close().catch(() => {});
    await zk?.close();
    throw err;
  }

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      log.info('searcher shutting down');
      closing = true;
      clearTimeout(retryTimer);
      unwatch?.();
      await registration?.unregister().catch((err) => log.warn({ err, path }, 'deregistration failed'));
      const forced = setTimeout(() => {
        log.warn(
          { timeoutMs: config.shutdownTimeoutMs },
          'in-flight requests did not finish; closing anyway',
        );
        app.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      await app.close();
      clearTimeout(forced);
      await isupdate?.close().catch((err) => log.warn({ err }, 'isupdate did not close cleanly'));
      await zk?.close();
      log.info('searcher stopped');
    })();
    return closed;
  };

  return { url, state, refreshRegistration, close };
}

/** Starts a searcher and runs it until SIGTERM or SIGINT, then shuts it down gracefully. */
export async function runSearcher(config: SearcherConfig, log: Logger): Promise<void> {
  const searcher = await startSearcher(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'signal received');
      searcher.close().then(resolve, (err) => {
        log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // A version load still running in the background (its file stream) would keep the process
  // alive after a graceful stop; nothing else needs the event loop any more.
  setTimeout(() => process.exit(), 1000).unref();
}
