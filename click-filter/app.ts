// The click filter's HTTP app: the service shell (core/service-app.ts) with GET /c/<token>
// (routes/click.ts) and, only when configured for tests, PUT /v1/test/clock. buildApp wires the pieces it is given and
// never listens (server.ts does), so tests drive it with inject().
//
// Concurrency: one event loop; per click the pipeline runs synchronously and the only await is
// the Kafka write (decision-log.ts).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ClickKeyring } from '../core/click-token.js';
import { MAX_TOKEN_CHARS } from '../core/click-token.js';
import type { OffsetClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { createServiceApp } from '../core/service-app.js';
import { testClockRoute } from '../core/test-clock-route.js';
import type { ClickFilterConfig } from './config.js';
import type { DecisionLog } from './decision-log.js';
import { type ClickFilterMetrics, createClickFilterMetrics } from './metrics.js';
import { ClickPipeline } from './pipeline.js';
import { clickRoutes } from './routes/click.js';
import { compileBlockList, type FilterSettings, settingsFromConfig } from './settings.js';
import type { SettingsHolder } from './settings-watcher.js';
import { DedupWindow } from './state/dedup-window.js';
import { RateWindow } from './state/rate-window.js';

export interface ClickFilterDeps {
  log: Logger;
  keyring: ClickKeyring;
  clock: OffsetClock;
  decisions: DecisionLog;
  settings: SettingsHolder;
  /** This instance's id (in every decision). */
  instance: string;
  /** Extra readiness conditions (ZooKeeper registration); ready when absent. */
  readiness?: () => string | undefined;
  processMetrics?: boolean;
}

export interface ClickFilterApp {
  app: FastifyInstance;
  pipeline: ClickPipeline;
  metrics: ClickFilterMetrics;
}

/** The configured defaults of the run-time settings (before ZooKeeper says anything). */
export function defaultSettings(config: ClickFilterConfig): FilterSettings {
  return settingsFromConfig(config, compileBlockList(config.blockedCidrs, config.blockedUserAgents));
}

const ReadyInfo = {
  instance: Type.String({ description: "This instance's id in decisions" }),
  settings: Type.String({ description: 'Where the filter settings in force come from' }),
  pendingDecisions: Type.Integer({ description: 'Decisions waiting for Kafka' }),
};

export function buildApp(config: ClickFilterConfig, deps: ClickFilterDeps): ClickFilterApp {
  const state = {
    dedup: new DedupWindow(config.dedupMaxEntries),
    users: new RateWindow(config.rateMaxKeys),
    ips: new RateWindow(config.rateMaxKeys),
  };
  const pipeline = new ClickPipeline({
    keyring: () => deps.keyring,
    settings: () => deps.settings.current,
    clock: deps.clock,
    instance: deps.instance,
    state,
  });
  const metrics = createClickFilterMetrics(
    () => ({
      dedupEntries: state.dedup.size,
      dedupEvictedEarly: state.dedup.evictedEarly,
      userKeys: state.users.size,
      ipKeys: state.ips.size,
      pendingDecisions: deps.decisions.pending,
    }),
    deps.processMetrics ?? true,
  );

  const app = createServiceApp(
    {
      log: deps.log,
      metrics,
      readiness: {
        schema: ReadyInfo,
        check: () => {
          const why = !deps.settings.loaded
            ? 'settings not loaded from ZooKeeper yet'
            : !deps.decisions.healthy
              ? 'Kafka is not taking decisions'
              : deps.readiness?.();
          if (why !== undefined) return { why: [why] };
          return {
            why: [],
            info: {
              instance: deps.instance,
              settings: deps.settings.current.source,
              pendingDecisions: deps.decisions.pending,
            },
          };
        },
      },
      openapi: {
        description:
          'Where click URLs lead: verifies the click token, runs the filter rules, logs every decision to Kafka and redirects to the landing page.',
        tags: [{ name: 'clicks', description: 'Ad clicks' }],
      },
      trustProxy: config.trustProxy,
      maxParamLength: 4 * MAX_TOKEN_CHARS,
      // An over-long token does not even reach the route: still the bad-link page, never a redirect.
      onNotFound: (req, reply) => {
        if (!req.url.startsWith('/c/')) return undefined;
        metrics.badTokens.inc({ reason: 'bad-format' });
        return reply
          .code(400)
          .header('content-type', 'text/html; charset=utf-8')
          .send('<!doctype html><p>This link is not valid.</p>\n');
      },
    },
    (scope) => {
      clickRoutes(scope, {
        pipeline,
        decisions: deps.decisions,
        metrics,
        log: deps.log.child({ component: 'click' }),
        logMode: config.logMode,
        kafkaWaitMs: config.kafkaWaitMs,
      });
      if (config.testClockEndpoint) testClockRoute(scope, deps.clock);
    },
  );

  return { app, pipeline, metrics };
}
