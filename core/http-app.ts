// The HTTP boundary every service shares: request-duration observation, one error handler that
// answers `{statusCode, code, error, message}` (ImatchError as is, schema failures in the one
// wording of core/validation-message.ts, framework 4xx with their status and a code of their own,
// anything else a 500 that leaks nothing), a 404 that lists the routes the app really has, and
// the same body for errors Node's HTTP parser raises before any route runs (a non-numeric
// Content-Length, Content-Length together with Transfer-Encoding, a request line or headers over
// the limit). Installed once per app by core/service-app.ts.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, httpReason, ImatchError, isImatchError } from './errors.js';
import { describeValidation } from './validation-message.js';

export interface HttpBoundaryOptions {
  /** Observes every answered request: route pattern, status, seconds. */
  observe?: (labels: { route: string; status: string }, seconds: number) => void;
  /** Error code of a request that fails its route schema (default IM_ERR_BAD_REQUEST). */
  validationCode?: ErrorCode;
  /** Called for every schema failure (e.g. to count bad requests). */
  onValidationError?: () => void;
  /** Answers an unknown route itself (returns the reply) or leaves it to the 404 (undefined). */
  onNotFound?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;
}

/** Framework 4xx codes (fastify's FST_ERR_*) and the error code each is answered with. */
const FRAMEWORK_CODES: Record<number, ErrorCode> = {
  400: 'IM_ERR_BAD_REQUEST',
  405: 'IM_ERR_METHOD_NOT_ALLOWED',
  408: 'IM_ERR_REQUEST_TIMEOUT',
  413: 'IM_ERR_BODY_TOO_LARGE',
  415: 'IM_ERR_UNSUPPORTED_MEDIA_TYPE',
  431: 'IM_ERR_HEADERS_TOO_LARGE',
};

/** The body of a client error fastify or Node raised: its status, our code, a plain reason. */
export function clientErrorBody(status: number, message: string) {
  const code = FRAMEWORK_CODES[status] ?? 'IM_ERR_BAD_REQUEST';
  return { statusCode: status, code, error: httpReason(status), message };
}

export function installHttpBoundary(app: FastifyInstance, o: HttpBoundaryOptions): void {
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

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
      const e = new ImatchError(o.validationCode ?? 'IM_ERR_BAD_REQUEST', describeValidation(err));
      return reply.code(e.statusCode).send(e.toBody());
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Framework-level client errors (bad JSON, wrong content type, body too large): keep their status.
      return reply.code(status).send(clientErrorBody(status, err.message));
    }
    request.log.error({ err }, 'unexpected error answering a request');
    const e = new ImatchError('IM_ERR_INTERNAL');
    return reply.code(e.statusCode).send(e.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    if (o.onNotFound?.(request, reply) !== undefined) return reply;
    const path = request.url.split('?')[0];
    const e = new ImatchError(
      'IM_ERR_NOT_FOUND',
      `No route ${request.method} ${path}. Routes: ${routes.join(', ')}`,
    );
    return reply.code(e.statusCode).send(e.toBody());
  });
}

/**
 * fastify's `clientErrorHandler`: Node's HTTP parser refused the request before fastify saw it.
 * Answers with the same body as every other error, then closes the connection (the parser's
 * state is lost).
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code: ErrorCode = 'IM_ERR_BAD_HTTP';
  let message = `Malformed HTTP request: ${parserReason(err)}`;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'IM_ERR_REQUEST_TIMEOUT';
    message = ERRORS.IM_ERR_REQUEST_TIMEOUT.message;
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'IM_ERR_HEADERS_TOO_LARGE';
    message = 'Request line or headers too large (at most 16 KB together)';
  }
  const body = JSON.stringify({ statusCode: status, code, error: httpReason(status), message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${httpReason(status)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** llhttp's reason ("Invalid character in Content-Length"), without internals. */
function parserReason(err: Error & { reason?: string }): string {
  const reason = typeof err.reason === 'string' && err.reason !== '' ? err.reason : err.message;
  return reason.replace(/^Parse Error: /, '');
}
