// The merger's HTTP app: buildApp(config, deps) returns a fastify instance with its routes,
// schemas, error handling and metrics, without listening (server.ts listens and feeds the
// balancer from ZooKeeper discovery; tests pass a balancer over stub clients and use inject()).
//
// Concurrency: everything runs on the one event loop; shared state is the balancer's replica
// table, replaced wholesale by discovery and updated synchronously per attempt.

import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { installHttpBoundary } from '../../core/http-app.js';
import type { Logger } from '../../core/logger.js';
import type { Balancer } from './balancer.js';
import type { MergerConfig } from './config.js';
import { Fanout } from './fanout.js';
import { MergeQuery } from './merge-query.js';
import { MergerMetrics } from './metrics.js';
import { healthRoutes } from './routes/health.js';
import { mergeRoutes } from './routes/merge.js';

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

/** Fastify with Ajv that refuses instead of repairing: no coercion, no silent removal of unknown keys. */
const AJV_OPTIONS = {
  customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true },
};

export function buildApp(config: MergerAppConfig, deps: MergerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log,
    // Per-request log lines would cost more than the merge itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: AJV_OPTIONS,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  const metrics = deps.metrics ?? new MergerMetrics(deps.balancer);
  const now = deps.now ?? Date.now;
  const fanout = new Fanout(
    deps.balancer,
    {
      attemptTimeoutMs: Math.min(config.attemptTimeoutMs, config.deadlineMs),
      minRetryMs: config.minRetryMs,
      now,
    },
    metrics,
  );
  const query = new MergeQuery(deps.balancer, fanout, {
    deadlineMs: config.deadlineMs,
    perCustomerMax: config.perCustomerMax,
    minRetryMs: config.minRetryMs,
    now,
    onDeepen: () => metrics.deepen(),
  });

  installHttpBoundary(app, {
    validationCode: 'IM_ERR_BAD_REQUEST',
    describeValidation,
    onValidationError: () => metrics.request('bad_request', 0),
    routes: 'POST /merge, GET /healthz, GET /readyz, GET /metrics',
  });

  mergeRoutes(app, { query, metrics, maxInFlight: config.maxInFlight ?? 256 });
  healthRoutes(app, { balancer: deps.balancer, metrics, isDiscovered: deps.isDiscovered ?? (() => true) });
  return app;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: {
    description?: string;
    properties?: Record<string, unknown>;
    anyOf?: { const?: unknown }[];
  };
}

/** One sentence per schema violation, naming the field and what is allowed. */
export function describeValidation(err: FastifyError): string {
  const context = err.validationContext ?? 'body';
  let issues = (err.validation ?? []) as AjvIssue[];
  // A failed union reports every branch and then itself: keep the union's own sentence.
  const unions = new Set(issues.filter((i) => i.keyword === 'anyOf').map((i) => i.instancePath));
  issues = issues.filter((i) => i.keyword === 'anyOf' || !unions.has(i.instancePath));
  const parts = issues.map((issue) => {
    const path = `${context}${issue.instancePath.replaceAll('/', '.')}`;
    const schema = issue.parentSchema;
    switch (issue.keyword) {
      case 'additionalProperties': {
        const allowed =
          schema?.properties === undefined ? '' : `; allowed: ${Object.keys(schema.properties).join(', ')}`;
        return `${path} has unknown property "${String(issue.params.additionalProperty)}"${allowed}`;
      }
      case 'required':
        return `${path} is missing required property "${String(issue.params.missingProperty)}"`;
      case 'anyOf': {
        const values = (schema?.anyOf ?? []).map((b) => b.const).filter((v) => v !== undefined);
        if (values.length > 0) return `${path} must be one of: ${values.join(', ')}`;
        return `${path} ${issue.message ?? 'is invalid'}`;
      }
      case 'pattern':
        return `${path} ${schema?.description === undefined ? issue.message : `must be a ${schema.description}`}`;
      default:
        return `${path} ${issue.message ?? 'is invalid'}`;
    }
  });
  return parts.length === 0 ? err.message : `Invalid request: ${parts.join('; ')}`;
}
