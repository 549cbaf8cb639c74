// The searcher's HTTP app: buildApp(config, deps) returns a fastify instance with its routes,
// schemas, error handling and metrics hook, without listening (server.ts listens; tests use
// inject()). createSearcherState wires the pieces an app needs (index holder + metrics registry)
// so server.ts, tests and benchmarks build a searcher the same way.
//
// Concurrency: everything here runs on the one event loop; the only shared mutable state is the
// holder's current-index reference (see index-holder.ts).

import type { TSchema } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { installHttpBoundary } from '../../core/http-app.js';
import type { Logger } from '../../core/logger.js';
import type { IndexPointer } from '../../core/zk-paths.js';
import type { SearcherConfig } from './config.js';
import { type ColumnIndex, loadColumnIndex } from './index/column-index.js';
import { IndexHolder, type Serving } from './index-holder.js';
import { createSearcherMetrics, type SearcherMetrics } from './metrics.js';
import { healthRoutes } from './routes/health.js';
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

/** Fastify with Ajv that refuses instead of repairing: no type coercion, no silent removal of unknown keys. */
const AJV_OPTIONS = {
  customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true },
};

export function buildApp(
  config: Pick<SearcherConfig, 'column' | 'replica'>,
  deps: SearcherDeps,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log,
    // Per-request log lines would cost more than the search itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: AJV_OPTIONS,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  installHttpBoundary(app, {
    observe: (labels, seconds) => deps.metrics.requestDuration.observe(labels, seconds),
    validationCode: 'IM_ERR_BAD_REQUEST',
    describeValidation,
    routes: 'POST /search, GET /healthz, GET /readyz, GET /metrics',
  });

  searchRoutes(app, { holder: deps.holder, column: config.column, replica: config.replica });
  healthRoutes(app, {
    holder: deps.holder,
    metrics: deps.metrics,
    isRegistered: deps.isRegistered ?? (() => true),
  });
  return app;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: TSchema;
  data?: unknown;
}

/** One sentence per schema violation, naming the field and what is allowed. */
export function describeValidation(err: FastifyError): string {
  const context = err.validationContext ?? 'body';
  const issues = (err.validation ?? []) as AjvIssue[];
  const parts = issues.map((issue) => {
    const path = `${context}${issue.instancePath.replaceAll('/', '.')}`;
    const schema = issue.parentSchema as
      | { description?: string; properties?: Record<string, unknown> }
      | undefined;
    switch (issue.keyword) {
      case 'additionalProperties': {
        const allowed =
          schema?.properties === undefined ? '' : `; allowed: ${Object.keys(schema.properties).join(', ')}`;
        return `${path} has unknown property "${String(issue.params.additionalProperty)}"${allowed}`;
      }
      case 'required':
        return `${path} is missing required property "${String(issue.params.missingProperty)}"`;
      case 'pattern':
        return `${path} ${schema?.description === undefined ? issue.message : `must be: ${schema.description} (got ${JSON.stringify(issue.data)})`}`;
      default:
        return `${path} ${issue.message ?? 'is invalid'}`;
    }
  });
  return parts.length === 0 ? err.message : `Invalid request: ${parts.join('; ')}`;
}
