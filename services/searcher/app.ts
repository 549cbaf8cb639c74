// The searcher's HTTP app: buildApp(config, deps) returns the service shell (core/service-app.ts)
// with POST /search (and GET /debug/dump with debugEndpoints), without listening (server.ts
// listens; tests use inject()). createSearcherState wires the pieces an app needs (index holder + metrics registry)
// so server.ts, tests and benchmarks build a searcher the same way.
//
// Concurrency: everything here runs on the one event loop; the only shared mutable state is the
// holder's current-index reference (see index-holder.ts).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../../core/health-routes.js';
import type { Logger } from '../../core/logger.js';
import { createServiceApp } from '../../core/service-app.js';
import type { IndexPointer } from '../../core/zk-paths.js';
import type { SearcherConfig } from './config.js';
import { type ColumnIndex, loadColumnIndex } from './index/column-index.js';
import { IndexHolder, type Serving } from './index-holder.js';
import { dumpRoutes } from './isupdate/dump-route.js';
import { createSearcherMetrics, type SearcherMetrics } from './metrics.js';
import { searchRoutes } from './routes/search.js';

export interface SearcherDeps {
  holder: IndexHolder<ColumnIndex>;
  metrics: SearcherMetrics;
  log: Logger;
  /** Whether the ZooKeeper registration is in place; default: always (apps without ZooKeeper). */
  isRegistered?: () => boolean;
}

export interface SearcherState {
  holder: IndexHolder<ColumnIndex>;
  metrics: SearcherMetrics;
}

export interface SearcherStateOptions {
  log: Logger;
  /** Loads one column (default: services/searcher/index loadColumnIndex, checksum verified). */
  load?: (versionDir: string, column: number) => Promise<ColumnIndex>;
  /** After each successful switch (server.ts updates the ZooKeeper registration). */
  onSwapped?: (
    serving: Serving<ColumnIndex>,
    previous: Serving<ColumnIndex> | undefined,
  ) => void | Promise<void>;
  /** Collect process metrics too (default true; off in unit tests that build many apps). */
  processMetrics?: boolean;
  /** Runs after a version is loaded and before it serves (isupdate replays its WAL here). */
  catchUp?: (index: ColumnIndex, pointer: IndexPointer) => Promise<void>;
}

/** The holder and the metrics registry of one searcher, wired to each other. */
export function createSearcherState(
  config: Pick<SearcherConfig, 'column'>,
  options: SearcherStateOptions,
): SearcherState {
  const log = options.log.child({ component: 'index-holder' });
  let holder: IndexHolder<ColumnIndex> | undefined;
  const metrics = createSearcherMetrics({
    processMetrics: options.processMetrics ?? true,
    facts: () => {
      const serving = holder?.current;
      if (serving === undefined) return undefined;
      const stats = serving.index.stats();
      return {
        version: serving.version,
        offers: stats.offers,
        bidwords: stats.bidwords,
        customers: stats.customers,
        appliedId: serving.index.appliedId,
        watermark: serving.watermark,
      };
    },
  });
  holder = new IndexHolder<ColumnIndex>({
    column: config.column,
    load: options.load ?? ((dir, column) => loadColumnIndex(dir, column, { logger: log })),
    versionOf: (index) => index.version,
    log,
    metrics,
    ...(options.onSwapped === undefined ? {} : { onSwapped: options.onSwapped }),
    ...(options.catchUp === undefined ? {} : { catchUp: options.catchUp }),
  });
  return { holder, metrics };
}

const ReadyInfo = {
  version: Type.String(),
  appliedId: Type.Integer(),
  registered: Type.Boolean(),
  swapping: Type.Boolean(),
};

export function buildApp(
  config: Pick<SearcherConfig, 'column' | 'replica'> & { debugEndpoints?: boolean },
  deps: SearcherDeps,
): FastifyInstance {
  const { holder } = deps;
  const isRegistered = deps.isRegistered ?? (() => true);
  const check = (): Readiness => {
    const serving = holder.current;
    const registered = isRegistered();
    const why: string[] = [];
    if (serving === undefined) why.push('no index version is loaded');
    if (!registered) why.push('not registered in ZooKeeper');
    if (serving === undefined) return { why };
    return {
      why,
      info: {
        version: serving.version,
        appliedId: serving.index.appliedId,
        registered,
        swapping: holder.busy,
      },
    };
  };
  return createServiceApp(
    {
      log: deps.log,
      metrics: deps.metrics,
      readiness: { schema: ReadyInfo, check },
      openapi: {
        description:
          'Internal: one replica of one index column answers POST /search for mergers (core/search-contract.ts).',
      },
    },
    (app) => {
      searchRoutes(app, { holder, column: config.column, replica: config.replica });
      if (config.debugEndpoints === true) dumpRoutes(app, { current: () => holder.current?.index });
    },
  );
}
