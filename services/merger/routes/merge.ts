// POST /merge: the blender -> merger hop (core/merge-contract.ts), over HTTP here and over frame RPC
// (core/frame-rpc.ts) through the same mergeHandler. Body validated by fastify's
// compiled Ajv before the handler runs; the answer written as text by field-format.ts (the hits'
// JSON as the searchers wrote it, no serializer walking objects; the 200 schema stays for the
// OpenAPI document and the contract, and a test checks the text against it). The handler awaits
// only the fan-out.
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../../core/error-body.js';
import { ImatchError, isImatchError } from '../../../core/errors.js';
import type { FrameReply } from '../../../core/frame-rpc.js';
import { MergeRequest, MergeResponse } from '../../../core/merge-contract.js';
import { mergeResponseJson } from '../field-format.js';
import type { MergeQuery } from '../merge-query.js';
import type { MergerMetrics } from '../metrics.js';

export interface MergeRouteOptions {
  query: MergeQuery;
  metrics: MergerMetrics;
  /**
   * Merges answered at once; one more is refused at once with 503 + Retry-After (a bounded queue
   * at this hop: past it, waiting only adds latency for everyone; the blender sheds first).
   */
  maxInFlight: number;
}

const OVERLOADED_BODY = new ImatchError(
  'IM_ERR_OVERLOADED',
  'Too many merges are in flight right now; retry after the time in Retry-After',
).toBody();
const OVERLOADED = JSON.stringify(OVERLOADED_BODY);

/** One merge as text: 200 with the MergeResponse, or 503 when too many are in flight. */
export type MergeHandler = (body: MergeRequest) => Promise<FrameReply>;

/**
 * The merge itself, shared by POST /merge and its frame RPC twin (services/merger/server.ts), so
 * both transports count against one in-flight bound. Errors (ImatchError) are thrown for the
 * transport's boundary to answer.
 */
export function mergeHandler(opts: MergeRouteOptions): MergeHandler {
  const { query, metrics, maxInFlight } = opts;
  let inFlight = 0;
  return async (body) => {
    const started = performance.now();
    if (inFlight >= maxInFlight) {
      metrics.request('shed', 0);
      return { status: 503, body: OVERLOADED };
    }
    inFlight++;
    try {
      const answer = await query.merge(body);
      metrics.request(answer.degraded ? 'degraded' : 'ok', (performance.now() - started) / 1000);
      return { status: 200, body: mergeResponseJson(answer.hits, body.fields, answer) };
    } catch (err) {
      const notReady = isImatchError(err) && err.code === 'IM_ERR_NOT_READY';
      metrics.request(notReady ? 'not_ready' : 'failed', (performance.now() - started) / 1000);
      throw err;
    } finally {
      inFlight--;
    }
  };
}

export function mergeRoutes(app: FastifyInstance, handle: MergeHandler): void {
  app.post<{ Body: MergeRequest }>(
    '/merge',
    {
      schema: {
        body: MergeRequest,
        response: { 200: MergeResponse, 502: ErrorBody, 503: ErrorBody, 504: ErrorBody },
      },
    },
    async (request, reply) => {
      const answer = await handle(request.body);
      if (answer.status === 503) reply.header('retry-after', '1');
      const body = typeof answer.body === 'string' ? answer.body : answer.body.join('');
      return reply.code(answer.status).type('application/json; charset=utf-8').send(body);
    },
  );
}
