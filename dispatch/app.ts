// The dispatch HTTP app: buildApp(config, deps) returns the service shell (core/service-app.ts)
// with POST /v1/changes, without listening (server.ts listens; tests use inject()).
//
// Followers: exactly one dispatch instance (the ZooKeeper-elected leader) assigns ids. A follower
// answers POST /v1/changes with 503 IM_ERR_NOT_LEADER, `Retry-After: 1`, the leader's URL in
// `details.leaderUrl` and in the `x-imatch-leader` header, and /readyz is 503 on followers, so a
// load balancer in front of several instances sends changes to the leader only. We answer instead
// of forwarding so that an acknowledgement always comes from the instance that made the change
// durable (no second hop that can fail after the write).
//
// Concurrency: one event loop; the writer (writer.ts) serializes id assignment and Kafka writes.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../core/health-routes.js';
import type { Logger } from '../core/logger.js';
import { createServiceApp } from '../core/service-app.js';
import { bearerCheck } from './auth.js';
import type { DispatchConfig } from './config.js';
import type { DispatchMetrics } from './metrics.js';
import { changesRoutes } from './routes/changes.js';
import type { ChangeWriter, Leadership } from './writer.js';

export interface DispatchDeps {
  writer: Pick<ChangeWriter, 'submit' | 'pending'>;
  leadership: Leadership;
  metrics: DispatchMetrics;
  log: Logger;
  /** Reasons this instance cannot accept changes right now (ZooKeeper or Kafka not connected). */
  notReady?: () => string[];
}

/** What the OpenAPI document says of this service. */
const OPENAPI = {
  description:
    "The advertiser platform's entry point for changes: validates a batch, gives each change a unique increasing message id, makes it durable in Kafka, then answers. Send `Authorization: Bearer <secret>`.",
  tags: [{ name: 'changes', description: 'Advertiser changes' }],
};

const ReadyInfo = {
  leader: Type.Boolean(),
  leaderUrl: Type.Union([Type.String(), Type.Null()]),
  pending: Type.Integer(),
};

export function buildApp(config: Pick<DispatchConfig, 'secret'>, deps: DispatchDeps): FastifyInstance {
  const { writer, leadership, metrics } = deps;
  const check = (): Readiness => {
    const state = leadership.state();
    const why = deps.notReady?.() ?? [];
    if (!state.leader) {
      why.push(
        state.leaderUrl === undefined
          ? 'not the leader (no leader elected yet)'
          : `not the leader (${state.leaderUrl} is)`,
      );
    }
    return {
      why,
      info: { leader: state.leader, leaderUrl: state.leaderUrl ?? null, pending: writer.pending },
      details: { leaderUrl: state.leaderUrl ?? null },
      ...(state.leaderUrl === undefined ? {} : { headers: { 'x-imatch-leader': state.leaderUrl } }),
    };
  };
  return createServiceApp(
    {
      log: deps.log,
      metrics,
      readiness: { schema: ReadyInfo, check },
      openapi: OPENAPI,
      validationCode: 'IM_ERR_BAD_CHANGE',
      onScrape: () => {
        metrics.pending.set(writer.pending);
        metrics.leader.set(leadership.state().leader ? 1 : 0);
      },
      // 1,000 changes of a few hundred bytes each, with room to spare.
      bodyLimit: 8 * 1024 * 1024,
    },
    (app) => changesRoutes(app, { writer, checkSecret: bearerCheck(config.secret), metrics }),
  );
}
