// The blender's HTTP app: buildApp(config, deps) returns the service shell (core/service-app.ts)
// with GET and POST /v1/ads, without listening (server.ts listens; tests use inject()).
// Everything with I/O (merger pools, Kafka, ZooKeeper) comes in through deps, so route tests run
// with a stub merger and an in-memory PV writer. Concurrency: one event loop, see routes/ads.ts.
import type { FastifyInstance } from 'fastify';
import type { ClickKeyring } from '../../core/click-token.js';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { createServiceApp } from '../../core/service-app.js';
import type { CtrModel } from '../../learner/model-file.js';
import type { BlenderConfig } from './config.js';
import type { MergerClient } from './merger-client.js';
import type { BlenderMetrics } from './metrics.js';
import { adsRoutes, type PvWriter } from './routes/ads.js';
import type { RuntimeSettings } from './runtime-config.js';

export interface BlenderDeps {
  merger: MergerClient;
  pvLog: PvWriter;
  runtime: RuntimeSettings;
  keyring: ClickKeyring;
  metrics: BlenderMetrics;
  log: Logger;
  clock?: Clock;
  /** The click model of the `ctr` arm (click-model.ts; default none: priors only). */
  clickModel?: () => CtrModel | undefined;
  /** Why the blender is not ready (default: ready when a merger is known). */
  notReady?: () => string[];
}

export function buildApp(
  config: Pick<BlenderConfig, 'clickBaseUrl' | 'textExpansion'> &
    Partial<Pick<BlenderConfig, 'maxInFlight' | 'admissionTargetMs' | 'ctrCandidates' | 'ctrPrior'>>,
  deps: BlenderDeps,
): FastifyInstance {
  const notReady = deps.notReady ?? (() => (deps.merger.size > 0 ? [] : ['no merger is known']));
  return createServiceApp(
    {
      log: deps.log,
      metrics: deps.metrics,
      readiness: { check: () => ({ why: notReady() }) },
      openapi: {
        description:
          'The public ad query API of iMatch-TS: query rewrite, GSP pricing, encrypted click URLs. See docs/api-blender.md.',
        tags: [{ name: 'ads', description: 'Sponsored-search ads' }],
      },
      validationCode: 'IM_ERR_BAD_QUERY',
      bodyLimit: 16 * 1024,
    },
    (app) =>
      adsRoutes(app, {
        merger: deps.merger,
        pvLog: deps.pvLog,
        runtime: deps.runtime,
        keyring: deps.keyring,
        clock: deps.clock ?? systemClock,
        metrics: deps.metrics,
        clickBaseUrl: config.clickBaseUrl,
        textExpansion: config.textExpansion,
        maxInFlight: config.maxInFlight ?? 64,
        admissionTargetMs: config.admissionTargetMs ?? 20,
        clickModel: deps.clickModel ?? (() => undefined),
        ctrCandidates: config.ctrCandidates ?? 20,
        ctrPrior: config.ctrPrior ?? 0.02,
      }),
  );
}
