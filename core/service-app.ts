// The one service shell: createServiceApp builds the fastify instance of every HTTP service the
// same way (logger, limits, validation, the error boundary, the OpenAPI document, /healthz,
// /readyz, /metrics) and adds the service's own routes inside it. A service's app.ts then holds
// only its routes, its readiness rule and its own dependencies; buildApp never listens
// (core/service-runtime.ts does), so tests use inject().
//
// Validation refuses instead of repairing: query strings, path parameters and headers are text and
// are coerced to the schema's types (n=5), JSON bodies are not (a body's "n": "5" is refused);
// unknown properties are never removed silently (an unknown parameter is a 400 naming the allowed
// ones, when the schema says additionalProperties: false); defaults are filled in.
//
// Concurrency: one event loop; nothing here holds state besides fastify's.
import { isIP } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { ErrorCode } from './errors.js';
import { healthRoutes, type ReadinessCheck } from './health-routes.js';
import { clientErrorHandler, type HttpBoundaryOptions, installHttpBoundary } from './http-app.js';
import type { Logger } from './logger.js';
import { type OpenApiInfo, openApiRoute, registerOpenApi } from './openapi.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface ServiceAppOptions {
  log: Logger;
  /** The app's registry and request histogram (core/service-metrics.ts). */
  metrics: ServiceMetrics;
  /** What /readyz checks. */
  readiness: ReadinessCheck;
  /** Title and description of the OpenAPI document. */
  openapi: Omit<OpenApiInfo, 'title'>;
  /** Error code of a request that fails its route schema (default IM_ERR_BAD_REQUEST). */
  validationCode?: ErrorCode;
  onValidationError?: () => void;
  onNotFound?: HttpBoundaryOptions['onNotFound'];
  /** Runs before each /metrics scrape. */
  onScrape?: () => void;
  /** Largest request body (bytes); default 1 MiB. */
  bodyLimit?: number;
  trustProxy?: boolean;
  maxParamLength?: number;
}

const AJV_COMMON = {
  useDefaults: true,
  removeAdditional: false,
  allErrors: true,
  verbose: true,
  strict: false,
} as const;

function ajvWith(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ ...AJV_COMMON, coerceTypes });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  // An IPv4 or IPv6 address (OpenAPI formats are open; JSON Schema has ipv4 and ipv6 only).
  ajv.addFormat('ip', (text: string) => isIP(text) !== 0);
  return ajv;
}
const queryAjv = ajvWith(true);
const bodyAjv = ajvWith(false);

/** The validator a route's body schema gets, for the same schema served outside fastify (core/frame-route.ts). */
export function compileBodyValidator(schema: object): ValidateFunction {
  return bodyAjv.compile(schema);
}

/** Builds the app of one service; `routes` adds the service's own routes. */
export function createServiceApp(
  o: ServiceAppOptions,
  routes: (app: FastifyInstance) => void,
): FastifyInstance {
  const options: FastifyServerOptions = {
    loggerInstance: o.log,
    // A log line per request would cost more than most requests; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    trustProxy: o.trustProxy ?? false,
    clientErrorHandler,
  };
  if (o.maxParamLength !== undefined) options.routerOptions = { maxParamLength: o.maxParamLength };
  // pino's Logger type is wider than FastifyBaseLogger's generic slot; the instance is the same.
  const app = Fastify(options) as unknown as FastifyInstance;

  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : queryAjv;
    return ajv.compile(schema) as (data: unknown) => boolean;
  });
  installHttpBoundary(app, {
    observe: (labels, seconds) => o.metrics.requestDuration.observe(labels, seconds),
    ...(o.validationCode === undefined ? {} : { validationCode: o.validationCode }),
    ...(o.onValidationError === undefined ? {} : { onValidationError: o.onValidationError }),
    ...(o.onNotFound === undefined ? {} : { onNotFound: o.onNotFound }),
  });
  registerOpenApi(app, { title: `iMatch-TS ${o.metrics.service}`, ...o.openapi });
  app.register(async (scope) => {
    routes(scope);
    healthRoutes(scope, {
      readiness: o.readiness,
      metrics: o.metrics,
      ...(o.onScrape === undefined ? {} : { onScrape: o.onScrape }),
    });
    openApiRoute(scope);
  });
  return app;
}
