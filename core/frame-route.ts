// One route served over frame RPC (core/frame-rpc.ts) with the same boundary as its HTTP twin
// (core/http-app.ts): the body is JSON validated by the route's schema with the same Ajv options
// (400 with the same wording when it fails), an ImatchError answers its status and error body, any
// other error answers 500 IM_ERR_INTERNAL and is logged, and the duration lands in the service's
// request histogram under the route `FRAME <path>`.
import type { ErrorCode } from './errors.js';
import { ImatchError, isImatchError } from './errors.js';
import type { FrameHandler, FrameReply } from './frame-rpc.js';
import type { Logger } from './logger.js';
import { compileBodyValidator } from './service-app.js';
import type { ServiceMetrics } from './service-metrics.js';
import { describeValidation } from './validation-message.js';

export interface FrameRouteOptions<B> {
  /** The HTTP path this route mirrors, e.g. `/search` (labels the histogram `FRAME /search`). */
  path: string;
  /** The body's JSON schema (the HTTP route's `schema.body`). */
  schema: object;
  metrics: ServiceMetrics;
  log: Logger;
  /** Error code of a body that fails the schema (default IM_ERR_BAD_REQUEST). */
  validationCode?: ErrorCode;
  /** Called for every body that fails the schema (e.g. to count bad requests). */
  onValidationError?: () => void;
  handle: (body: B) => FrameReply | Promise<FrameReply>;
}

function errorReply(err: ImatchError): FrameReply {
  return { status: err.statusCode, body: JSON.stringify(err.toBody()) };
}

export function frameRoute<B>(o: FrameRouteOptions<B>): FrameHandler {
  const validate = compileBodyValidator(o.schema);
  const route = `FRAME ${o.path}`;
  const histogram = o.metrics.requestDuration;
  const observe = (status: number, started: number) =>
    histogram.observe({ route, status: String(status) }, (performance.now() - started) / 1000);
  const fail = (err: unknown, started: number): FrameReply => {
    let e: ImatchError;
    if (isImatchError(err)) {
      e = err;
      if (e.statusCode >= 500) {
        if (e.retriable) o.log.warn({ code: e.code, cause: e.cause }, e.message);
        else o.log.error({ err }, e.message);
      }
    } else {
      o.log.error({ err }, 'unexpected error answering a request');
      e = new ImatchError('IM_ERR_INTERNAL');
    }
    observe(e.statusCode, started);
    return errorReply(e);
  };
  return (text) => {
    const started = performance.now();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(new ImatchError('IM_ERR_BAD_REQUEST', 'Body is not valid JSON'), started);
    }
    if (!validate(body)) {
      o.onValidationError?.();
      const message = describeValidation({
        validation: validate.errors ?? [],
        validationContext: 'body',
        message: 'body does not match the schema',
      } as unknown as Parameters<typeof describeValidation>[0]);
      return fail(new ImatchError(o.validationCode ?? 'IM_ERR_BAD_REQUEST', message), started);
    }
    try {
      const reply = o.handle(body as B);
      if (reply instanceof Promise)
        return reply.then(
          (r) => {
            observe(r.status, started);
            return r;
          },
          (err: unknown) => fail(err, started),
        );
      observe(reply.status, started);
      return reply;
    } catch (err) {
      return fail(err, started);
    }
  };
}
