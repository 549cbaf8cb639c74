// The merger's HTTP app: buildApp(config, deps) returns the service shell (core/service-app.ts)
// with POST /merge, without listening (server.ts listens and feeds the balancer from ZooKeeper
// discovery; tests pass a balancer over stub clients and use inject()).
//
// Ready: discovery has read the index layout and at least one column has a replica, so blenders
// may send queries. Concurrency: everything runs on the one event loop; shared state is the
// balancer's replica table, replaced wholesale by discovery and updated synchronously per attempt.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { frameRoute } from '../../core/frame-route.js';
import type { FrameHandler } from '../../core/frame-rpc.js';
import type { Readiness } from '../../core/health-routes.js';
import type { Logger } from '../../core/logger.js';
import { MergeRequest } from '../../core/merge-contract.js';
import { createServiceApp } from '../../core/service-app.js';
import type { Balancer } from './balancer.js';
import type { MergerConfig } from './config.js';
import { Fanout } from './fanout.js';
import { MergeQuery } from './merge-query.js';
import { MergerMetrics } from './metrics.js';
import { mergeHandler, mergeRoutes } from './routes/merge.js';

export interface MergerDeps {
  log: Logger;
  balancer: Balancer;
  /** Whether discovery has read the layout once; default: always (apps without ZooKeeper). */
  isDiscovered?: () => boolean;
  /** Metrics (default: a new registry with process metrics). */
  metrics?: MergerMetrics;
  /** Clock in ms for deadlines (tests). */
  now?: () => number;
}

export type MergerAppConfig = Pick<
  MergerConfig,
  'deadlineMs' | 'attemptTimeoutMs' | 'minRetryMs' | 'perCustomerMax'
> &
  Partial<Pick<MergerConfig, 'maxInFlight'>>;

/** What the OpenAPI document says of this service. */
const OPENAPI = {
  description:
    'Internal: fans a query out to one replica of every index column, merges, applies CDistinct and sorts (core/merge-contract.ts).',
};

const ReadyInfo = {
  columns: Type.Integer(),
  replicas: Type.Array(Type.Object({ healthy: Type.Integer(), known: Type.Integer() })),
};

export function buildApp(config: MergerAppConfig, deps: MergerDeps): FastifyInstance {
  return buildMerger(config, deps).app;
}

export interface MergerApp {
  app: FastifyInstance;
  /** /merge over frame RPC (core/frame-rpc.ts): the same merges, bound and metrics as the app's. */
  mergeFrames: FrameHandler;
}

/** The HTTP app and the frame RPC handler of one merger, sharing one merge path. */
export function buildMerger(config: MergerAppConfig, deps: MergerDeps): MergerApp {
  const { balancer } = deps;
  const metrics = deps.metrics ?? new MergerMetrics(balancer);
  const now = deps.now ?? Date.now;
  const isDiscovered = deps.isDiscovered ?? (() => true);
  const fanout = new Fanout(
    balancer,
    {
      attemptTimeoutMs: Math.min(config.attemptTimeoutMs, config.deadlineMs),
      minRetryMs: config.minRetryMs,
      now,
    },
    metrics,
  );
  const query = new MergeQuery(balancer, fanout, {
    deadlineMs: config.deadlineMs,
    perCustomerMax: config.perCustomerMax,
    minRetryMs: config.minRetryMs,
    now,
    onDeepen: () => metrics.deepen(),
  });

  const check = (): Readiness => {
    const columns = balancer.columnCount;
    const replicas = Array.from({ length: columns }, (_, c) => ({
      healthy: balancer.healthyCount(c),
      known: balancer.replicas(c).length,
    }));
    const why = !isDiscovered()
      ? 'the index layout and searcher replicas are not discovered yet'
      : columns === 0
        ? 'no index version is published'
        : replicas.every((r) => r.known === 0)
          ? 'no searcher replica is registered'
          : undefined;
    return { why: why === undefined ? [] : [why], info: { columns, replicas } };
  };

  const handle = mergeHandler({ query, metrics, maxInFlight: config.maxInFlight ?? 256 });
  const app = createServiceApp(
    {
      log: deps.log,
      metrics,
      readiness: { schema: ReadyInfo, check },
      openapi: OPENAPI,
      onValidationError: () => metrics.request('bad_request', 0),
    },
    (scope) => mergeRoutes(scope, handle),
  );
  const mergeFrames = frameRoute<MergeRequest>({
    path: '/merge',
    schema: MergeRequest,
    metrics,
    log: deps.log,
    onValidationError: () => metrics.request('bad_request', 0),
    handle,
  });
  return { app, mergeFrames };
}
