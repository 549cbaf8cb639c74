// The HTTP boundary every fastify service shares: request-duration observation, one error
// handler that answers `{statusCode, code, error, message}` (ImatchError as is, schema failures
// with the service's own wording, framework 4xx with their status, anything else a 500 that
// leaks nothing) and a 404 that lists the service's routes. Called once per app in buildApp.
import type { FastifyError, FastifyInstance } from 'fastify';
import { type ErrorCode, httpReason, ImatchError, isImatchError } from './errors.js';

export interface HttpBoundaryOptions {
  /** Observes every answered request: route pattern, status, seconds. */
  observe?: (labels: { route: string; status: string }, seconds: number) => void;
  /** Error code of a request that fails its route schema (e.g. IM_ERR_BAD_QUERY). */
  validationCode: ErrorCode;
  /** Turns fastify's Ajv issues into the service's message. */
  describeValidation: (err: FastifyError) => string;
  /** Called for every schema failure (e.g. to count bad requests). */
  onValidationError?: () => void;
  /** The routes named in a 404 message. */
  routes: string;
}

export function installHttpBoundary(app: FastifyInstance, o: HttpBoundaryOptions): void {
  const { observe } = o;
  if (observe !== undefined) {
    app.addHook('onResponse', (request, reply, done) => {
      observe(
        { route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isImatchError(err)) {
      if (err.statusCode >= 500) {
        if (err.retriable) request.log.warn({ code: err.code, cause: err.cause }, err.message);
        else request.log.error({ err }, err.message);
      }
      if (err.statusCode === 503) reply.header('retry-after', '1');
      return reply.code(err.statusCode).send(err.toBody());
    }
    if (err.validation !== undefined) {
      o.onValidationError?.();
      const e = new ImatchError(o.validationCode, o.describeValidation(err));
      return reply.code(e.statusCode).send(e.toBody());
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Framework-level client errors (bad JSON, wrong content type, body too large): keep their status.
      return reply.code(status).send({
        statusCode: status,
        code: 'IM_ERR_BAD_REQUEST',
        error: httpReason(status),
        message: err.message,
      });
    }
    request.log.error({ err }, 'unexpected error answering a request');
    const e = new ImatchError('IM_ERR_INTERNAL');
    return reply.code(e.statusCode).send(e.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const e = new ImatchError(
      'IM_ERR_NOT_FOUND',
      `No route ${request.method} ${request.url}. Routes: ${o.routes}`,
    );
    return reply.code(e.statusCode).send(e.toBody());
  });
}
