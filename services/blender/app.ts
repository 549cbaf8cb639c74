// The blender's HTTP app: buildApp(config, deps) returns a fastify instance with its routes,
// schemas, error handling, OpenAPI document and metrics hook, without listening (server.ts
// listens; tests use inject()). Everything with I/O (merger pools, Kafka, ZooKeeper) comes in
// through deps, so route tests run with a stub merger and an in-memory PV writer.
//
// Validation: query strings are validated with type coercion (n=5 arrives as text), JSON bodies
// without it (a body's "n": "5" is refused); neither removes unknown properties: an unknown
// parameter is a 400 naming the allowed ones. Concurrency: one event loop, see routes/ads.ts.

import { Ajv, type ErrorObject } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { ClickKeyring } from '../../core/click-token.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { installHttpBoundary } from '../../core/http-app.js';
import type { Logger } from '../../core/logger.js';
import type { BlenderConfig } from './config.js';
import type { MergerClient } from './merger-client.js';
import type { BlenderMetrics } from './metrics.js';
import { adsRoutes, type PvWriter } from './routes/ads.js';
import { healthRoutes } from './routes/health.js';
import { openApiRoute, registerOpenApi } from './routes/openapi.js';
import type { RuntimeSettings } from './runtime-config.js';

export interface BlenderDeps {
  merger: MergerClient;
  pvLog: PvWriter;
  runtime: RuntimeSettings;
  keyring: ClickKeyring;
  metrics: BlenderMetrics;
  log: Logger;
  clock?: Clock;
  /** Why the blender is not ready (default: ready when a merger is known). */
  notReady?: () => string[];
}

const ROUTES = 'GET /v1/ads, POST /v1/ads, GET /openapi.json, GET /healthz, GET /readyz, GET /metrics';

const AJV_COMMON = {
  useDefaults: true,
  removeAdditional: false,
  allErrors: true,
  verbose: true,
  strict: false,
};
const queryAjv = new Ajv({ ...AJV_COMMON, coerceTypes: true });
const bodyAjv = new Ajv({ ...AJV_COMMON, coerceTypes: false });

export function buildApp(
  config: Pick<BlenderConfig, 'clickBaseUrl' | 'textExpansion'> &
    Partial<Pick<BlenderConfig, 'maxInFlight' | 'admissionTargetMs'>>,
  deps: BlenderDeps,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log,
    // A log line per request would cost more than the blending itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    bodyLimit: 16 * 1024,
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : queryAjv;
    return ajv.compile(schema) as (data: unknown) => boolean;
  });

  installHttpBoundary(app, {
    observe: (labels, seconds) => deps.metrics.requestDuration.observe(labels, seconds),
    validationCode: 'IM_ERR_BAD_QUERY',
    describeValidation,
    routes: ROUTES,
  });

  registerOpenApi(app);
  app.register(async (routes) => {
    adsRoutes(routes, {
      merger: deps.merger,
      pvLog: deps.pvLog,
      runtime: deps.runtime,
      keyring: deps.keyring,
      clock: deps.clock ?? systemClock,
      metrics: deps.metrics,
      clickBaseUrl: config.clickBaseUrl,
      textExpansion: config.textExpansion,
      maxInFlight: config.maxInFlight ?? 64,
      admissionTargetMs: config.admissionTargetMs ?? 25,
    });
    healthRoutes(routes, {
      metrics: deps.metrics,
      notReady: deps.notReady ?? (() => (deps.merger.size > 0 ? [] : ['no merger is known'])),
    });
    openApiRoute(routes);
  });
  return app;
}

interface SchemaWithDescription {
  description?: string;
  properties?: Record<string, unknown>;
}

/** One sentence per schema violation, naming the parameter and what is allowed. */
export function describeValidation(err: FastifyError): string {
  const issues = (err.validation ?? []) as (ErrorObject & { parentSchema?: SchemaWithDescription })[];
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const issue of issues) {
    const field = issue.instancePath.split('/').filter(Boolean).join('.');
    let text: string;
    switch (issue.keyword) {
      case 'additionalProperties': {
        const props = issue.parentSchema?.properties;
        const allowed = props === undefined ? '' : `. Allowed: ${Object.keys(props).join(', ')}`;
        text = `Unknown parameter "${String(issue.params.additionalProperty)}"${allowed}`;
        break;
      }
      case 'required': {
        const name = String(issue.params.missingProperty);
        const desc = (issue.parentSchema?.properties?.[name] as SchemaWithDescription | undefined)
          ?.description;
        text = `Missing parameter "${name}"${desc === undefined ? '' : `: ${desc}`}`;
        break;
      }
      default: {
        const desc = issue.parentSchema?.description;
        text =
          field === ''
            ? `Invalid ${err.validationContext ?? 'request'}: ${issue.message ?? 'is invalid'}`
            : `Invalid parameter "${field}": ${issue.message ?? 'is invalid'}${desc === undefined ? '' : `. Expected: ${desc}`}`;
      }
    }
    if (!seen.has(text)) {
      seen.add(text);
      parts.push(text);
    }
  }
  return parts.length === 0 ? err.message : parts.join('; ');
}
