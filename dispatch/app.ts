// The dispatch HTTP app: buildApp(config, deps) returns a fastify instance with POST /v1/changes,
// /healthz, /readyz and /metrics, without listening (server.ts listens; tests use inject()).
//
// Followers: exactly one dispatch instance (the ZooKeeper-elected leader) assigns ids. A follower
// answers POST /v1/changes with 503 IM_ERR_NOT_LEADER, `Retry-After: 1`, the leader's URL in
// `details.leaderUrl` and in the `x-imatch-leader` header, and /readyz is 503 on followers, so a
// load balancer in front of several instances sends changes to the leader only. We answer instead
// of forwarding so that an acknowledgement always comes from the instance that made the change
// durable (no second hop that can fail after the write).
//
// Concurrency: one event loop; the writer (writer.ts) serializes id assignment and Kafka writes.

import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { installHttpBoundary } from '../core/http-app.js';
import type { Logger } from '../core/logger.js';
import { bearerCheck } from './auth.js';
import type { DispatchConfig } from './config.js';
import type { DispatchMetrics } from './metrics.js';
import { changesRoutes } from './routes/changes.js';
import { healthRoutes } from './routes/health.js';
import type { ChangeWriter, Leadership } from './writer.js';

export interface DispatchDeps {
  writer: Pick<ChangeWriter, 'submit' | 'pending'>;
  leadership: Leadership;
  metrics: DispatchMetrics;
  log: Logger;
  /** Reasons this instance cannot accept changes right now (ZooKeeper or Kafka not connected). */
  notReady?: () => string[];
}

/** Refuse instead of repair: no type coercion, no silent removal of unknown keys. */
const AJV_OPTIONS = {
  customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, verbose: true },
};

export function buildApp(config: Pick<DispatchConfig, 'secret'>, deps: DispatchDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: AJV_OPTIONS,
    // 1,000 changes of a few hundred bytes each, with room to spare.
    bodyLimit: 8 * 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  installHttpBoundary(app, {
    observe: (labels, seconds) => deps.metrics.requestDuration.observe(labels, seconds),
    validationCode: 'IM_ERR_BAD_CHANGE',
    describeValidation,
    routes: 'POST /v1/changes, GET /healthz, GET /readyz, GET /metrics',
  });

  changesRoutes(app, { writer: deps.writer, checkSecret: bearerCheck(config.secret), metrics: deps.metrics });
  healthRoutes(app, {
    writer: deps.writer,
    leadership: deps.leadership,
    metrics: deps.metrics,
    notReady: deps.notReady ?? (() => []),
  });
  return app;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function describeValidation(err: FastifyError): string {
  const context = err.validationContext ?? 'body';
  const parts = ((err.validation ?? []) as AjvIssue[]).map((issue) => {
    const path = `${context}${issue.instancePath.replaceAll('/', '.')}`;
    switch (issue.keyword) {
      case 'additionalProperties':
        return `${path} has unknown property "${String(issue.params.additionalProperty)}"; allowed: changes`;
      case 'required':
        return `${path} is missing required property "${String(issue.params.missingProperty)}"`;
      default:
        return `${path} ${issue.message ?? 'is invalid'}`;
    }
  });
  return parts.length === 0 ? err.message : `Invalid request: ${parts.join('; ')}`;
}
