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

import { type FrameServer, startFrameServer } from '../../core/frame-rpc.js';
import type { Logger } from '../../core/logger.js';
import { retryUntil } from '../../core/retry.js';
import { advertisedHost, gracefulStop, listen } from '../../core/service-runtime.js';
import { type SearcherRegistration, zkPaths } from '../../core/zk-paths.js';
import { connectZk, type Registration, type Unwatch, type ZkClient } from '../../core/zookeeper.js';
import { buildApp, createSearcherState, type SearcherState } from './app.js';
import type { SearcherConfig } from './config.js';
import type { ColumnIndex } from './index/column-index.js';
import type { Serving } from './index-holder.js';
import { type IsUpdateRuntime, openIsUpdate } from './isupdate/runtime.js';
import { searchFrameHandler } from './routes/search-frames.js';
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
  let frames: FrameServer | undefined;
  let closing = false;

  const registrationOf = (serving: Serving<ColumnIndex>): SearcherRegistration => ({
    url,
    ...(frames === undefined
      ? {}
      : { frames: `${advertisedHost(config.host, config.advertiseHost)}:${frames.port}` }),
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
        // A merger cannot see this replica until the retry succeeds.
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
  // Keep serving while ZooKeeper refuses the registration; retry until registered (or closing).
  const registering = new AbortController();
  let retrying = false;
  const retryRegistration = () => {
    if (retrying) return;
    retrying = true;
    void retryUntil(
      async () => {
        const serving = state.holder.current;
        if (serving !== undefined) await publish(serving);
      },
      {
        signal: registering.signal,
        initialMs: 1000,
        onError: (err) => log.error({ err, path }, 'could not register in ZooKeeper; retrying'),
      },
    ).finally(() => {
      retrying = false;
    });
  };

  const app = buildApp(config, {
    ...state,
    log,
    isRegistered: () => registration !== undefined && zk?.isConnected() === true,
  });

  let unwatch: Unwatch | undefined;
  const stop = gracefulStop('searcher', log, app, config.shutdownTimeoutMs, {
    registration: () => registration,
    beforeStop: [
      [
        'stop registering and watching',
        () => {
          closing = true;
          registering.abort();
          unwatch?.();
        },
      ],
    ],
    afterStop: [
      ['close the frame listener', () => frames?.close(config.shutdownTimeoutMs)],
      ['close isupdate', () => isupdate?.close()],
      ['close ZooKeeper', () => zk?.close()],
    ],
  });
  try {
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    ({ url } = await listen(app, config));
    if (config.framesPort !== -1) {
      frames = await startFrameServer(
        searchFrameHandler({ ...state, log, column: config.column, replica: config.replica }),
        {
          host: config.host,
          port: config.framesPort,
          onConnectionError: (err) => log.warn({ err }, 'frame connection closed on an error'),
        },
      );
    }
    log.info(
      { url, frames: frames?.address, column: config.column, replica: config.replica },
      'searcher listening',
    );
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
    await stop();
    throw err;
  }
  return { url, state, refreshRegistration, close: stop };
}
